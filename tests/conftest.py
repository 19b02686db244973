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

Both tiers run on pytest-xdist workers (`-n auto` in pyproject.toml, which
`pytest_xdist_auto_num_workers` below makes 2 on any machine: most tests wait on HTTP, polls or
other processes, not on the CPU, and the timing margins are set for 2 cores). Every session
fixture, the Prefect harness included, exists once per worker, and every server here binds a
port the OS picks. `-n 0` runs in one process, as do `--pdb` and the long reliability mode.

Prefect's test harnesses work one after another, never nested: with two alive, events and logs
reach the wrong server. Every folder that needs Prefect asks for `prefect_harness` instead of
starting its own, and the suites that never touch Prefect (local/, client/) never pay for it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# The temporary Prefect server would try to send usage telemetry to an outside host: offline
# machines (and CI) only see failed DNS look-ups, so switch it off.
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

HERE = Path(__file__).parent
SLOW_SUBJECTS = ("deployments", "browser", "scaled")
"""Markers whose tests belong to the slow tier (they also get the `slow` marker)."""
MARKED_BY_FOLDER = {HERE / "deployments": "deployments"}
"""Folders whose every test carries a marker without repeating it in each module."""
ONE_WORKER = "real-servers"
"""The xdist group of every slow-subject test: they run one after another on one xdist worker
(one real Prefect server and its workers at a time: two at once starve each other on 2 cores),
while the other worker takes the rest (`-n 2 --dist loadgroup` in pyproject.toml)."""
CHROMIUM = "/usr/bin/chromium"


XDIST_WORKERS = 2


@pytest.hookimpl(optionalhook=True)  # a hook of pytest-xdist's (a dev dependency)
def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    return XDIST_WORKERS


@pytest.hookimpl(tryfirst=True)  # before xdist's: it turns numprocesses into workers
def pytest_cmdline_main(config: pytest.Config) -> None:
    """The long reliability mode runs in one process: it writes its figures once, from all tests."""
    markexpr = config.option.markexpr or ""
    if os.environ.get("IMBRACE_RELIABILITY_MODE") == "long" or (
        "long" in markexpr and "not long" not in markexpr
    ):
        config.option.numprocesses = 0


@pytest.hookimpl(tryfirst=True)  # before pytest's own `-m` deselection reads the markers
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        for folder, marker in MARKED_BY_FOLDER.items():
            if folder in item.path.parents:
                item.add_marker(marker)
        if any(item.get_closest_marker(name) for name in SLOW_SUBJECTS):
            item.add_marker(pytest.mark.slow)
            item.add_marker(pytest.mark.xdist_group(ONE_WORKER))


@pytest.hookimpl(tryfirst=True)  # before the xdist worker sends the collected ids
def pytest_collection_finish(session: pytest.Session) -> None:
    """On an xdist worker, stop if `--dist loadgroup` dropped the groups instead of running two
    real servers at once: pytest 9.2 made xdist 3.8's group suffix a no-op (pytest-xdist issue
    1386; pyproject.toml holds pytest below 9.2 until xdist follows)."""
    if not getattr(session.config.option, "loadgroup", False):  # set on xdist workers only
        return
    lost = [item.nodeid for item in session.items
            if item.get_closest_marker("xdist_group") and "@" not in item.nodeid]
    if lost:
        raise pytest.UsageError(f"--dist loadgroup ignored the xdist_group of {lost[:3]}...")


def pytest_runtest_setup(item: pytest.Item) -> None:
    """A browser test without chromium fails and says how to get it (never a silent skip)."""
    if item.get_closest_marker("browser") and not Path(CHROMIUM).exists():
        pytest.fail(
            f"{item.nodeid} drives Debian's chromium at {CHROMIUM}, which is missing: "
            "`apt-get install chromium` (.ci/run installs it)",
            pytrace=False,
        )


@pytest.hookimpl(wrapper=True)
def pytest_report_to_serializable(config: pytest.Config, report: pytest.TestReport) -> Any:
    """A report that travels from an xdist worker holds only UTF-8-encodable text.

    The bad-input tests feed lone surrogates (e.g. a flow id of "\\ud800"), which end up in
    captured logs; execnet refuses such a string and the worker crashes with an INTERNALERROR.
    They are written as backslash escapes instead.
    """
    return _utf8_safe((yield))


def _utf8_safe(value: Any) -> Any:
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return value.encode("utf-8", "backslashreplace").decode("utf-8")
        return value
    if isinstance(value, dict):
        return {key: _utf8_safe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_utf8_safe(item) for item in value)
    return value


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=240):
        yield
    from prefect_imbrace.exactly_once.poller import shutdown_poller

    shutdown_poller()
