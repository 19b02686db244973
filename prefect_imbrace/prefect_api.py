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
from typing import Any

__all__ = ["PAGE", "PREFECT_CALLS_IN_FLIGHT", "prefect_slots", "read_variables"]

PREFECT_CALLS_IN_FLIGHT = 8
"""Our requests in flight on Prefect's client pool (16 connections), per event loop."""
PAGE = 200
"""Variables read per request."""

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


async def read_variables(client: Any, variable_filter: dict[str, Any], *, offset: int = 0,
                         sort: str | None = None) -> list[Any]:
    """One page (`PAGE`) of Variables matching a filter (`POST /variables/filter`).

    Prefect's client has `read_variables(limit)` only, with no filter: this asks the same
    route with one, through the client's public `request`.
    """
    from prefect.client.schemas.objects import Variable

    body: dict[str, Any] = {"variables": variable_filter, "limit": PAGE, "offset": offset}
    if sort:
        body["sort"] = sort
    async with prefect_slots():
        response = await client.request("POST", "/variables/filter", json=body)
    return Variable.model_validate_list(response.json())
