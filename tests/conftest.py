"""One real Prefect API for the whole test session.

Prefect's test harnesses work one after another, never nested: with two alive, events and logs
reach the wrong server. Every folder that needs Prefect asks for `prefect_harness` instead of
starting its own, and the suites that never touch Prefect (local/, client/) never pay for it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

# The temporary Prefect server would try to send usage telemetry to an outside host: offline
# machines (and CI) only see failed DNS look-ups, so switch it off.
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=240):
        yield
    from prefect_imbrace.exactly_once.poller import shutdown_poller

    shutdown_poller()
