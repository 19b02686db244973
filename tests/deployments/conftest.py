"""Tests on a real Prefect server with process workers (the `prefect_server` fixture).

Every test here is marked `deployments` (tests/conftest.py), so it belongs to the slow tier:
`uv run pytest -m slow` runs it, the default `uv run pytest` does not. They share the
session's one server (25-45 s to start) and one Imbrace Local, which deployed flow runs (other
processes) reach over loopback.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from prefect_imbrace.credentials import ImbraceCredentials
from prefect_imbrace.local import ImbraceLocal
from prefect_imbrace.testing_deployments import PrefectServer

HERE = Path(__file__).parent
FLOWS = HERE / "deployed_flows.py"


@pytest.hookimpl(trylast=True)  # after pytest grouped the items by the server they use
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # The scaled stack's tests last: the session's SQLite server then starts once and is
    # stopped before the stack starts (`prefect_server` holds one of them at a time).
    items.sort(key=lambda item: item.get_closest_marker("scaled") is not None)


@pytest.fixture(autouse=True)
def report_duration(request: pytest.FixtureRequest) -> Iterator[None]:
    """Each test's wall time on the terminal: these tests are the expensive part of CI."""
    started = time.monotonic()
    yield
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(f"[deployments] {request.node.name}: {time.monotonic() - started:.1f}s")


@pytest.fixture(scope="session")
def local_engine() -> Iterator[ImbraceLocal]:
    with ImbraceLocal() as engine:
        yield engine


@pytest.fixture
def engine(local_engine: ImbraceLocal) -> ImbraceLocal:
    local_engine.control.reset()
    return local_engine


@pytest.fixture
def credentials(engine: ImbraceLocal) -> ImbraceCredentials:
    return ImbraceCredentials(api_key=engine.api_key, gateway=engine.url, timeout=15)


def save_block(server: PrefectServer, credentials: ImbraceCredentials, name: str) -> str:
    with server.settings():
        credentials.save(name, overwrite=True)
    return name
