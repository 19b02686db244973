"""Pytest fixtures that give a test suite a real Imbrace Local engine on a loopback port.

Registered as a pytest11 plugin, so any project with prefect-imbrace installed can write::

    def test_my_flow(imbrace_local):
        client = ImbraceClient(gateway=imbrace_local.url, api_key=imbrace_local.api_key)

The plugin also brings `prefect_server` (a real Prefect server with process workers and
deployments, from `prefect_imbrace.testing_deployments`) and registers the `deployments` marker
for the tests that use it, so `pytest -m "not deployments"` skips them.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from prefect_imbrace.testing_deployments import prefect_server

if TYPE_CHECKING:
    from prefect_imbrace.local import ImbraceLocal


__all__ = ["imbrace_local", "imbrace_local_session", "prefect_server"]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "deployments: starts a real Prefect server and workers (slow; skip with -m 'not deployments')",
    )
    config.addinivalue_line(
        "markers",
        "scaled: on the scaled Prefect stack, PostgreSQL and Redis (prefect_imbrace.testing_stack)",
    )


@pytest.fixture
def imbrace_local() -> Iterator[ImbraceLocal]:
    """A fresh Imbrace Local for one test (in-memory state, free port, control plane on)."""
    from prefect_imbrace.local import ImbraceLocal

    with ImbraceLocal() as engine:
        yield engine


@pytest.fixture(scope="session")
def imbrace_local_session() -> Iterator[ImbraceLocal]:
    """One Imbrace Local shared by the whole session; call `engine.control.reset()` to isolate."""
    from prefect_imbrace.local import ImbraceLocal

    with ImbraceLocal() as engine:
        yield engine
