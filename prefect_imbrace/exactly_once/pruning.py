"""Trigger records have a lifetime: removed once their Prefect flow run has been final for a while.

Why: Prefect Variables never expire, and a record is only useful while an attempt that could
adopt from it may still come: a retry or re-run of its flow run. Once the flow run has been in
a final state (Completed, Failed, Crashed, Cancelled) for `record_retention` (default 7 days,
`PREFECT_INTEGRATIONS_IMBRACE_RECORD_RETENTION`), its records go. A record whose flow run no
longer exists goes too; one written outside any flow run goes `record_retention` after its
last update. Nobody has to run anything: every process that writes a record to the Prefect API
prunes once (`prune_soon`), in the background, and again every `PRUNE_EVERY` while it writes.
A process that writes nothing (first attempts of short runs) leaves records alone: it made none.

A pass counts the record Variables, reads the oldest (one request per `PASS_SIZE`, at most
`MAX_PAGES`) and the flow runs they belong to (one request per page), and deletes what
expired; it stops at the first record younger than the retention, so its cost does not grow
with the records kept.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

from prefect.logging.loggers import get_logger

from prefect_imbrace.exactly_once.record import RECORD_TAG, records_in
from prefect_imbrace.prefect_api import PAGE as PASS_SIZE
from prefect_imbrace.prefect_api import prefect_slots, read_variables

__all__ = ["MAX_PAGES", "PASS_SIZE", "PRUNE_EVERY", "prune_records", "prune_soon"]

PRUNE_EVERY = 600.0
MAX_PAGES = 5
_TAGGED = {"tags": {"all_": [RECORD_TAG]}}
_log = get_logger("prefect_imbrace.exactly_once")
_last_prune = 0.0  # time.monotonic() of this process's last pass; 0 = never
_running: set[asyncio.Future[None]] = set()


def _retention() -> timedelta:
    from prefect_imbrace.exactly_once.clients import cached_settings

    return timedelta(seconds=cached_settings().record_retention)


async def prune_records(client: Any, retention: timedelta | None = None) -> int:
    """Delete the trigger records that outlived their flow run by `retention`; returns how many.

    Reads the record Variables oldest first, a page (`PASS_SIZE`) at a time, and stops at the
    first page with one younger than `retention` (none after it can have expired) or after
    `MAX_PAGES` pages. Prefect sorts Variables newest first only, so the oldest page is the last
    one: counted first, then read from the end.
    """
    retention = _retention() if retention is None else retention
    now = datetime.now(timezone.utc)
    async with prefect_slots():
        response = await client.request("POST", "/variables/count", json={"variables": _TAGGED})
    end = int(response.json())
    gone = 0
    for _ in range(MAX_PAGES):
        if end <= 0:
            break
        start = max(0, end - PASS_SIZE)  # records made since the count shift it: next pass
        variables = await read_variables(client, _TAGGED, offset=start, sort="CREATED_DESC")
        old = [v for v in variables if v.created is None or v.created < now - retention]
        expired = await _expired(client, old, now - retention)
        for name in expired:
            await _delete(client, name)
        gone += len(expired)
        if len(old) < len(variables):
            break
        end = start
    if gone:
        _log.debug("Pruned %s trigger record(s) older than their flow runs by %s.", gone, retention)
    return gone


async def _expired(client: Any, variables: list[Any], cutoff: datetime) -> list[str]:
    """Names of the Variables whose flow run is gone or final since before `cutoff`."""
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    owners: dict[str, list[str]] = {}
    expired: list[str] = []
    for variable in variables:
        records = records_in(variable.value)
        flow_run_ids = {r.flow_run_id for r in records if r.flow_run_id and _is_uuid(r.flow_run_id)}
        for flow_run_id in flow_run_ids:
            owners.setdefault(flow_run_id, []).append(variable.name)
        if not flow_run_ids and max((r.updated for r in records), default=cutoff) < cutoff:
            expired.append(variable.name)  # written outside a flow run: by its age
    if owners:
        async with prefect_slots():
            runs = {str(r.id): r for r in await client.read_flow_runs(
                flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[uuid.UUID(i) for i in owners])),
                limit=len(owners))}
        for flow_run_id, names in owners.items():
            state = getattr(runs.get(flow_run_id), "state", None)
            if flow_run_id not in runs or (state is not None and state.is_final()
                                           and state.timestamp < cutoff):
                expired += names
    return list(dict.fromkeys(expired))


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


async def _delete(client: Any, name: str) -> None:
    from prefect.exceptions import ObjectNotFound

    try:
        async with prefect_slots():
            await client.delete_variable_by_name(name)
    except ObjectNotFound:
        pass  # another process pruned it first


def prune_soon(open_store: Callable[[], Any]) -> None:
    """Start a background pass if this process has not pruned for `PRUNE_EVERY` seconds.

    `open_store` opens the loop's record store (`durable.open_record_store`): the pass holds
    it, so the loop's Prefect client stays open until the pass is done.
    """
    global _last_prune
    now = time.monotonic()
    if _last_prune and now - _last_prune < PRUNE_EVERY:
        return
    _last_prune = now
    task = asyncio.ensure_future(_prune_in_background(open_store))
    _running.add(task)  # the loop keeps only a weak reference to a task
    task.add_done_callback(_running.discard)


async def _prune_in_background(open_store: Callable[[], Any]) -> None:
    try:
        async with open_store() as store:
            if store.prefect is not None:
                await prune_records(await store.prefect.api())
    except Exception as exc:  # noqa: BLE001 - pruning is housekeeping; the next pass retries
        _log.debug("Pruning trigger records failed (next pass retries): %s", exc)
