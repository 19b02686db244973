"""Constants of the Prefect tests (flows are built by `tests/imbrace_flows.py`)."""

from __future__ import annotations

SECRET_KEY = "sk-test-5ecret-ImbraceKey-0123456789abcdef"
"""The API key of the session engine: it must never show up in logs, artifacts or events."""
