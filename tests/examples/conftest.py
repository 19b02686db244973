"""The examples under a real Prefect API (a temporary server) and Imbrace Local.

The example scripts live in `flows/` and `blocks/`, which are not packages: their folders go
on `sys.path` so the tests import them by module name, exactly as the scripts import each other.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
for folder in ("flows", "blocks"):
    if str(ROOT / folder) not in sys.path:
        sys.path.insert(0, str(ROOT / folder))

from imbrace_demo import Target  # noqa: E402

from prefect_imbrace.credentials import ImbraceCredentials  # noqa: E402
from prefect_imbrace.exactly_once.poller import shutdown_poller  # noqa: E402
from prefect_imbrace.local import ImbraceLocal  # noqa: E402

IMBRACE_VARIABLES = (
    "IMBRACE_API_KEY", "IMBRACE_ACCESS_TOKEN", "IMBRACE_ORGANIZATION_ID", "IMBRACE_ENV",
    "IMBRACE_GATEWAY_URL", "IMBRACE_ENGINE_URL", "IMBRACE_CREDENTIALS_BLOCK", "IMBRACE_FLOW_ID",
    "IMBRACE_SYNC_FLOW_ID", "IMBRACE_ASYNC_FLOW_ID", "IMBRACE_UPSTREAM_FLOW_ID",
    "IMBRACE_NEXT_FLOW_ID", "IMBRACE_ENRICH_FLOW_ID",
)


@pytest.fixture(scope="package")
def prefect_api(prefect_harness: None) -> Iterator[None]:
    """The session's one Prefect API (tests/conftest.py); the poller stops with this folder."""
    yield
    shutdown_poller()


@pytest.fixture(autouse=True)
def no_real_imbrace(monkeypatch: pytest.MonkeyPatch) -> None:
    """The examples switch to real Imbrace on IMBRACE_API_KEY: never from a developer's shell."""
    for name in IMBRACE_VARIABLES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def target(prefect_api: None, imbrace_local: ImbraceLocal) -> Target:
    """What the examples' `imbrace_target()` yields on Local, built on the shipped fixture."""
    credentials = ImbraceCredentials(api_key=imbrace_local.api_key, gateway=imbrace_local.url)
    return Target(credentials, imbrace_local)


@pytest.fixture
def block(target: Target) -> str:
    """The Local credentials saved as a block, as the deployments load them."""
    name = "imbrace-examples-test"
    target.credentials.save(name, overwrite=True)
    return name
