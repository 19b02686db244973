"""Concurrency gauges of Imbrace Local: runs in flight at once, requests per second.

Why: a limit shared by many workers (a Prefect global concurrency limit, a rate limit) is only
proven by what the engine saw. `GET /_local/counters` reports:

- `running_high_water`: the most runs QUEUED or RUNNING at one moment since the last reset;
- `requests_per_second_peak`: the most engine requests (everything but `/_local`) counted in
  any window of one second since the last reset (a sliding window, so a burst that straddles
  two clock seconds is counted whole).

The store reports every write of a run (`observe_run`), so every way a status changes (runner,
cancel, retry, control plane) is seen without each caller knowing about the gauge.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Any

IN_FLIGHT = frozenset({"QUEUED", "RUNNING"})


class Gauges:
    def __init__(self, clock: Any = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._in_flight: set[str | None] = set()
        self.running_high_water = 0
        self._recent: deque[float] = deque()
        self.requests_per_second_peak = 0

    def observe_run(self, run: dict[str, Any]) -> None:
        """Called on every store write of a run document."""
        run_id = run.get("id")
        with self._lock:
            if run.get("status") in IN_FLIGHT:
                self._in_flight.add(run_id)
                if len(self._in_flight) > self.running_high_water:
                    self.running_high_water = len(self._in_flight)
            else:
                self._in_flight.discard(run_id)

    def forget_run(self, run_id: str) -> None:
        with self._lock:
            self._in_flight.discard(run_id)

    def count_request(self) -> None:
        """One engine request now; keeps the requests of the last second to find the peak."""
        now = self._clock()
        with self._lock:
            recent = self._recent
            recent.append(now)
            while recent and recent[0] <= now - 1.0:
                recent.popleft()
            if len(recent) > self.requests_per_second_peak:
                self.requests_per_second_peak = len(recent)

    def reset(self, in_flight: set[str] | None = None) -> None:
        """Start counting again; runs still in flight stay counted (they are still there)."""
        with self._lock:
            self._in_flight = set(in_flight or ())
            self.running_high_water = len(self._in_flight)
            self._recent.clear()
            self.requests_per_second_peak = 0

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return {
                "running_high_water": self.running_high_water,
                "requests_per_second_peak": self.requests_per_second_peak,
            }
