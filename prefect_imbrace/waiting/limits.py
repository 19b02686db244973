"""How many Imbrace runs one process drives at once.

Two layers: an in-process limit (default `PREFECT_INTEGRATIONS_IMBRACE_TRIGGER_CONCURRENCY`,
shared by threads and event loops), and optionally a named Prefect global concurrency limit,
which also holds across processes and machines (create it with
`prefect gcl create imbrace-triggers --limit 20`).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from prefect_imbrace.waiting.clients import cached_settings

__all__ = ["slots"]


class _Slots:
    """A counting semaphore usable from any thread and any loop without parking a thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._used = 0

    def try_acquire(self, limit: int) -> bool:
        with self._lock:
            if self._used < limit:
                self._used += 1
                return True
            return False

    def release(self) -> None:
        with self._lock:
            self._used -= 1

    @property
    def used(self) -> int:
        return self._used


_slots = _Slots()


@asynccontextmanager
async def slots(concurrency_limit: str | None, max_concurrent: int | None) -> AsyncIterator[None]:
    """Hold one in-process slot and, if named, one slot of a Prefect global limit."""
    settings = cached_settings()
    limit = max_concurrent or settings.trigger_concurrency
    name = concurrency_limit or settings.concurrency_limit_name
    delay = 0.01
    while not _slots.try_acquire(limit):
        await asyncio.sleep(delay)
        delay = min(delay * 2, 0.25)
    try:
        if name:
            from prefect.concurrency.asyncio import concurrency

            async with concurrency(name, occupy=1):
                yield
        else:
            yield
    finally:
        _slots.release()
