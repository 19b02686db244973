"""The reliability suite's world: a real Prefect API, one Imbrace Local, the mode and the figures.

One test set, two sizes. The default run is SHORT (a few triggers per fault). LONG mode
(`IMBRACE_RELIABILITY_MODE=long`, or `-m long`, which this file turns into the same thing)
sends about a thousand triggers and writes the figures into docs/reliability.md.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import pytest

# Before anything creates the shared poller: poll at most once a second, so a wait ends at
# most ~1 s after its run (the default backs off to 10 s between polls of an idle lane).
os.environ.setdefault("PREFECT_INTEGRATIONS_IMBRACE_MAX_POLL_INTERVAL", "1.0")
os.environ.setdefault("PREFECT_INTEGRATIONS_IMBRACE_POLL_INTERVAL", "0.2")

import reliability_figures  # noqa: E402
from imbrace_flows import ImbraceFlows  # noqa: E402
from reliability_support import ACCESS_TOKEN, API_KEY, Ledger, mode  # noqa: E402

from prefect_imbrace.credentials import ImbraceCredentials  # noqa: E402
from prefect_imbrace.local import ImbraceLocal  # noqa: E402

_HERE = os.path.dirname(__file__)
_started = time.monotonic()


def pytest_configure(config: pytest.Config) -> None:
    if "long" in (config.option.markexpr or "") and "not long" not in config.option.markexpr:
        os.environ["IMBRACE_RELIABILITY_MODE"] = "long"


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every reliability test is also a `long` test: `-m long` selects them in long mode."""
    for item in items:
        if str(item.path).startswith(_HERE):
            item.add_marker(pytest.mark.long)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    ran = any(str(getattr(item, "path", "")).startswith(_HERE) for item in session.items)
    if ran and mode() == "long" and reliability_figures.FIGURES["faults"]:
        reliability_figures.write(mode(), time.monotonic() - _started, int(exitstatus))


@pytest.fixture(scope="session", autouse=True)
def prefect_api(prefect_harness: None) -> Iterator[None]:
    """The session's one Prefect API (tests/conftest.py), with fast polling."""
    from prefect_imbrace.exactly_once.poller import get_poller, shutdown_poller

    poller = get_poller()  # it may predate this file (other suites in the same session)
    poller.poll_interval, poller.max_interval = 0.2, 1.0
    yield
    shutdown_poller()


@pytest.fixture(scope="session")
def engine_session() -> Iterator[ImbraceLocal]:
    # sync_timeout=1: the engine's 30 s sync-webhook wait, shortened so NO_REPLY is quick to reach
    with ImbraceLocal(api_keys={API_KEY: "org_local"}, access_tokens={ACCESS_TOKEN: "org_local"},
                      sync_timeout=1.0) as engine:
        yield engine


@pytest.fixture
def engine(engine_session: ImbraceLocal) -> Iterator[ImbraceLocal]:
    engine_session.control.reset()
    yield engine_session
    engine_session.control.clear_faults()


@pytest.fixture
def creds(engine: ImbraceLocal) -> ImbraceCredentials:
    return ImbraceCredentials(api_key=API_KEY, gateway=engine.url, timeout=10, max_retries=3)


@pytest.fixture
def flows(creds: ImbraceCredentials) -> Iterator[ImbraceFlows]:
    with creds.get_client() as client:
        yield ImbraceFlows(client)


@pytest.fixture
def ledger(engine: ImbraceLocal) -> Iterator[Ledger]:
    book = Ledger(engine.engine_url, API_KEY)
    yield book
    book.close()
