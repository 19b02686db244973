"""Real Prefect (a temporary API server) and one real Imbrace Local for the whole session."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator

import pytest
from imbrace_flows import ImbraceFlows
from imbrace_prefect_helpers import SECRET_KEY

# Faster polling for tests (read when the shared poller is created).
os.environ.setdefault("PREFECT_INTEGRATIONS_IMBRACE_POLL_INTERVAL", "0.2")
os.environ.setdefault("PREFECT_INTEGRATIONS_IMBRACE_MAX_POLL_INTERVAL", "1.0")

from prefect_imbrace.credentials import ImbraceCredentials
from prefect_imbrace.exactly_once.poller import shutdown_poller
from prefect_imbrace.local import ImbraceLocal


@pytest.fixture(scope="session", autouse=True)
def prefect_api(prefect_harness: None) -> Iterator[None]:
    """The session's one Prefect API (tests/conftest.py); the poller stops with this folder."""
    yield
    shutdown_poller()


@pytest.fixture(scope="session")
def engine_session() -> Iterator[ImbraceLocal]:
    with ImbraceLocal(api_keys={SECRET_KEY: "org_local"}) as engine:
        yield engine


@pytest.fixture
def engine(engine_session: ImbraceLocal) -> ImbraceLocal:
    engine_session.control.reset()
    return engine_session


@pytest.fixture
def creds(engine: ImbraceLocal) -> ImbraceCredentials:
    return ImbraceCredentials(api_key=SECRET_KEY, gateway=engine.url, timeout=10, max_retries=1)


@pytest.fixture
def flows(creds: ImbraceCredentials) -> Iterator[ImbraceFlows]:
    with creds.get_client() as client:
        yield ImbraceFlows(client)


@pytest.fixture
def captured_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """Every log record of the test, at DEBUG, for the no-secret-anywhere checks."""
    caplog.set_level(logging.DEBUG)
    return caplog
