"""Tests on a real Prefect server with process workers (the `prefect_server` fixture).

Every test here is marked `deployments`: `uv run pytest -m "not deployments"` skips them
locally; `.ci/run` runs them. They share the session's one server (25-45 s to start).
"""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/deployments/" in item.nodeid.replace("\\", "/"):
            item.add_marker(pytest.mark.deployments)
