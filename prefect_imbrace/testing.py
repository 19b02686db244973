"""Pytest fixtures that give a test suite a fresh Imbrace Local engine (filled in with Imbrace Local)."""
