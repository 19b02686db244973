"""How many Imbrace runs one process drives at once: ONE in-process limit, plus an optional
named Prefect global concurrency limit.

The in-process limit (`max_concurrent`, default `PREFECT_INTEGRATIONS_IMBRACE_TRIGGER_CONCURRENCY`)
is an `asyncio.Semaphore` per event loop. That covers the whole process in practice: async
tasks share their flow's loop, and sync tasks wait through Prefect's one run-sync loop
(`run_coro_as_sync`). A named limit (`prefect gcl create imbrace-triggers --limit 20`) also
holds across processes and machines.
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

__all__ = ["slots"]

_semaphores: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[int, asyncio.Semaphore]] = (
    weakref.WeakKeyDictionary()
)
_lock = threading.Lock()


def _semaphore(limit: int) -> asyncio.Semaphore:
    loop = asyncio.get_running_loop()
    with _lock:
        per_loop = _semaphores.setdefault(loop, {})
        return per_loop.setdefault(limit, asyncio.Semaphore(limit))


@asynccontextmanager
async def slots(concurrency_limit: str | None, max_concurrent: int) -> AsyncIterator[None]:
    """Hold one in-process slot and, if named, one slot of a Prefect global limit.

    Both are resolved by the caller (`atrigger_and_wait`, from its arguments, the credentials
    and the settings): None means no named limit here, e.g. for a deferrable wait, whose slot
    is carried across the suspension instead (deferral.carried_slot).
    """
    async with _semaphore(max_concurrent):
        if concurrency_limit:
            from prefect.concurrency.asyncio import concurrency

            async with concurrency(concurrency_limit, occupy=1):
                yield
        else:
            yield
