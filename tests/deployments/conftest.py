"""Tests on a real Prefect server with process workers (the `prefect_server` fixture).

Every test here is marked `deployments` (tests/conftest.py), so it belongs to the slow tier:
`uv run pytest -m slow` runs it, the default `uv run pytest` does not. They share the
session's one server (25-45 s to start) and one Imbrace Local, which deployed flow runs (other
processes) reach over loopback.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from prefect.states import Cancelled

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


@contextmanager
def resumer_running(server: PrefectServer, block: str, pool: str, poll_interval: float) -> Iterator[str]:
    """The resumer deployed on `pool` for the test (its id); its flow runs end with the test."""
    from prefect_imbrace.exactly_once.resumer import deploy_resumer

    with server.settings():
        resumer_id = deploy_resumer(block, pool, poll_interval=poll_interval, run_for=900,
                                    job_variables=server.job_variables())
    try:
        yield resumer_id
    finally:
        with server.client() as client:
            for flow_run in client.read_flow_runs():
                if str(flow_run.deployment_id) == str(resumer_id) and not flow_run.state.is_final():
                    client.set_flow_run_state(flow_run.id, Cancelled(), force=True)
