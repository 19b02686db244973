"""The engine's wall clock: this machine's, or another machine's (`--clock-offset`).

A real engine's clock is not the caller's: its run times (`created`, `startTime`, ...) may be
seconds ahead or behind the machine that triggers it. `imbrace-local --clock-offset SECONDS`
shifts every timestamp Imbrace Local writes and every time it compares (delays, schedules), so
callers can be tested against a skewed engine. Process-wide: one engine per process (the CLI).
"""

from __future__ import annotations

import time
from datetime import datetime, timezone

_offset_ms = 0


def set_clock_offset(seconds: float) -> None:
    """Run the engine's clock `seconds` ahead of this machine's (negative: behind)."""
    global _offset_ms
    _offset_ms = int(seconds * 1000)


def offset_ms() -> int:
    return _offset_ms


def engine_now() -> datetime:
    """The engine's wall clock."""
    return datetime.fromtimestamp(time.time() + _offset_ms / 1000, tz=timezone.utc)
