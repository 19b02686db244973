"""How this package calls the Prefect API: through one gate per event loop.

Why: Prefect's client has a fixed pool of 16 connections, and httpcore 1.0.9 rescans its
queue of waiting requests on every assignment (encode/httpcore#1035): 500 record writes in
flight through one client took 8.4 s and about 6 s of client CPU, 16 at a time 4.4 s and
1.2 s (shared/prefect-deployments-notes.md). Prefect's own task engine uses the same pool, so
our calls (trigger records, artifacts, deferral notes, pruning) take at most
`PREFECT_CALLS_IN_FLIGHT` of it per event loop and queue here, in a plain semaphore, instead.
"""

from __future__ import annotations

import asyncio
import weakref

__all__ = ["PREFECT_CALLS_IN_FLIGHT", "prefect_slots"]

PREFECT_CALLS_IN_FLIGHT = 8
"""Our requests in flight on Prefect's client pool (16 connections), per event loop."""

_slots: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
    weakref.WeakKeyDictionary()
)


def prefect_slots() -> asyncio.Semaphore:
    """The gate of this event loop's calls into Prefect's client (`PREFECT_CALLS_IN_FLIGHT`)."""
    loop = asyncio.get_running_loop()
    slots = _slots.get(loop)
    if slots is None:
        slots = _slots[loop] = asyncio.Semaphore(PREFECT_CALLS_IN_FLIGHT)
    return slots
