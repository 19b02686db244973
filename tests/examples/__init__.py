"""Tests of the examples, the block scripts and the docs (a package: its Prefect server stops with it)."""
