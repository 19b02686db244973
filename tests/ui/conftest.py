"""Fixtures of the browser tests: one `imbrace-local` process per session, one chromium for tests/ui."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .ui_support import API_KEY, CHROMIUM, CHROMIUM_ARGS, ready_line


@pytest.fixture(scope="session")
def imbrace_local_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`imbrace-local` in its own process on a free loopback port; yields its gateway URL."""
    log = tmp_path_factory.mktemp("imbrace-local") / "imbrace-local.log"
    script = Path(sys.executable).with_name("imbrace-local")
    proc = subprocess.Popen(
        [str(script), "--port", "0", "--api-key", API_KEY],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True,
        start_new_session=True,
    )
    try:
        yield ready_line(proc, log)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    """Chromium through Playwright's sync API, ended with this folder's last test.

    While Playwright's sync API is open the main thread reports a running event loop, so
    Prefect's dual sync/async calls (`flow.from_source`, ...) return coroutines: held for the
    whole session, it broke the deployment tests that ran after it (`'coroutine' object has no
    attribute 'deploy'`).
    """
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()
