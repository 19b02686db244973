"""What the browser tests share: where chromium is, screenshots, the Imbrace Local process."""

from __future__ import annotations

import os
import re
import selectors
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]
ROOT = Path(__file__).resolve().parents[2]
API_KEY = "api_ui_test_" + "5" * 24
UI_WAIT_MS = 60_000


class Shots:
    """Screenshots into the test's temporary directory (and `IMBRACE_UI_SCREENSHOTS`, if set)."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.extra = Path(os.environ["IMBRACE_UI_SCREENSHOTS"]) if os.environ.get("IMBRACE_UI_SCREENSHOTS") else None

    def take(self, page: Any, name: str, **kwargs: Any) -> Path:
        path = self.folder / f"{name}.png"
        page.screenshot(path=str(path), **kwargs)
        if self.extra is not None:
            self.extra.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, self.extra / path.name)
        return path


def ready_line(proc: subprocess.Popen[str], log: Path, timeout: float = 60.0) -> str:
    """The gateway URL `imbrace-local` prints once it is ready (its output kept on failure)."""
    selector = selectors.DefaultSelector()
    assert proc.stdout is not None
    selector.register(proc.stdout, selectors.EVENT_READ)
    seen = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if selector.select(timeout=1.0):
            line = proc.stdout.readline()
            if not line:
                break
            seen.append(line)
            found = re.search(r"gateway=(http://\S+)", line)
            if found:
                return found.group(1)
    log.write_text("".join(seen))
    raise RuntimeError(f"imbrace-local did not start: {''.join(seen)[-2000:]}")
