"""A tiny thread-safe mailbox the poller thread fills and an event loop drains.

It is loop-agnostic on purpose: a `JobRun` may be triggered on one loop and awaited on
another (sync callers go through Prefect's run-sync loop), so no asyncio.Queue is bound at
construction time.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from typing import Any


class Inbox:
    def __init__(self) -> None:
        self._items: deque[Any] = deque()
        self._lock = threading.Lock()
        self._waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = []

    def put(self, item: Any) -> None:
        with self._lock:
            self._items.append(item)
            waiters, self._waiters = self._waiters, []
        for loop, fut in waiters:
            try:
                loop.call_soon_threadsafe(_wake, fut)
            except RuntimeError:  # that loop is closed; nobody is waiting there any more
                pass

    async def get(self, timeout: float | None) -> Any | None:
        """The next item, or None after `timeout` seconds."""
        loop = asyncio.get_running_loop()
        with self._lock:
            if self._items:
                return self._items.popleft()
            fut: asyncio.Future[None] = loop.create_future()
            self._waiters.append((loop, fut))
        try:
            await asyncio.wait_for(fut, timeout)
        except asyncio.TimeoutError:
            pass
        finally:
            with self._lock:
                self._waiters = [(lp, f) for lp, f in self._waiters if f is not fut]
        with self._lock:
            return self._items.popleft() if self._items else None


def _wake(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)
