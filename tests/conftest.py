"""The test tiers, and one real Prefect API for the whole test session.

Two tiers (README, Development):

- `uv run pytest`: the default tier. Every unit, client, Imbrace Local, Prefect-layer (on
  `prefect_test_harness`), example, as-code, short reliability and exactly-once test, over real
  HTTP. `addopts` in pyproject.toml deselects the slow tier (`-m "not slow"`).
- `uv run pytest -m slow`: the slow tier. A test is `slow` when its subject is a real Prefect
  server with workers (`deployments`), the browser (`browser`), the PostgreSQL + Redis Prefect
  stack (`scaled`) or a long Imbrace run (marked `slow` itself). `pytest_collection_modifyitems`
  below adds `slow` to every test carrying one of the first three, so a new test only needs the
  marker that says what it uses.

Prefect's test harnesses work one after another, never nested: with two alive, events and logs
reach the wrong server. Every folder that needs Prefect asks for `prefect_harness` instead of
starting its own, and the suites that never touch Prefect (local/, client/) never pay for it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

# The temporary Prefect server would try to send usage telemetry to an outside host: offline
# machines (and CI) only see failed DNS look-ups, so switch it off.
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

HERE = Path(__file__).parent
SLOW_SUBJECTS = ("deployments", "browser", "scaled")
"""Markers whose tests belong to the slow tier (they also get the `slow` marker)."""
MARKED_BY_FOLDER = {HERE / "deployments": "deployments"}
"""Folders whose every test carries a marker without repeating it in each module."""
CHROMIUM = "/usr/bin/chromium"


@pytest.hookimpl(tryfirst=True)  # before pytest's own `-m` deselection reads the markers
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        for folder, marker in MARKED_BY_FOLDER.items():
            if folder in item.path.parents:
                item.add_marker(marker)
        if any(item.get_closest_marker(name) for name in SLOW_SUBJECTS):
            item.add_marker(pytest.mark.slow)


def pytest_runtest_setup(item: pytest.Item) -> None:
    """A browser test without chromium fails and says how to get it (never a silent skip)."""
    if item.get_closest_marker("browser") and not Path(CHROMIUM).exists():
        pytest.fail(
            f"{item.nodeid} drives Debian's chromium at {CHROMIUM}, which is missing: "
            "`apt-get install chromium` (.ci/run installs it)",
            pytrace=False,
        )


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=240):
        yield
    from prefect_imbrace.exactly_once.poller import shutdown_poller

    shutdown_poller()
