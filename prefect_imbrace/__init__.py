"""Prefect integration for the Imbrace workflow engine."""

__version__ = "0.1.0"

__all__: list[str] = []
