"""Deferred waits: a wait that outlives `defer_after` suspends its Prefect flow run.

Why: a blocking trigger-and-wait holds its worker (its process, container or VM) for the
whole Imbrace run: minutes for a slow API, days for a flow that pauses on a delay or an
approval. With `defer_after=SECONDS`, once the Imbrace run has not ended that long after the
trigger, the flow run is suspended (`suspend_flow_run`: state Suspended, its process exits,
the infrastructure is released). The resumer (`prefect_imbrace.exactly_once.resumer`, one deployment
watching every deferred wait) resumes it when the Imbrace run ends; a worker then re-executes
the flow from its start, and the trigger is ADOPTED through its record
(`exactly_once.record`, keyed by the call's place), never sent again, so the task returns exactly
what the blocking wait returns and raises the same errors.

What a suspended flow run leaves behind, for the resumer:

- the tag `imbrace-deferred` on the Prefect flow run (how the resumer finds it cheaply);
- a Prefect Variable `imbrace-deferral-<flow run id>` (`DeferralNote`): the Imbrace flow id,
  key and run id (when known) of each wait, and the engine URL they belong to. It points at
  the trigger records; it does not repeat them.

Both are removed by the flow run once its waits have ended after a resume, or by the resumer
when the flow run was cancelled (it then cancels the Imbrace runs the engine lets it cancel:
QUEUED or PAUSED) or ended otherwise (a suspension that timed out fails the flow run).

Outside a flow run of a deployment there is nothing to reschedule: the wait then blocks as
without `defer_after` (and logs that once).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any
from uuid import UUID

from pydantic import BaseModel, Field

from prefect_imbrace.exceptions import ImbraceConfigurationError

if TYPE_CHECKING:
    from prefect_imbrace.exactly_once.handle import ImbraceRunHandle

__all__ = [
    "DEFERRED_TAG",
    "DeferralGroup",
    "DeferredMember",
    "carried_slot",
    "DeferralNote",
    "DeferredWait",
    "check_defer_after",
    "note_name",
    "wait_deferrable",
]

DEFERRED_TAG = "imbrace-deferred"
NOTE_TAG = "prefect-imbrace-deferral"
_MIN_SUSPENSION = 1.0
"""A wait with less time left than `defer_after` plus this is not worth a suspension."""


class DeferredWait(BaseModel):
    """One wait of a suspended flow run: which trigger record to look at."""

    flow_id: str
    key: str
    run_id: str | None = None
    first_planned_at: datetime
    lease_id: str | None = None
    """The `concurrency_limit` slot it holds across the suspension (released at its end)."""


class DeferralNote(BaseModel):
    """What the resumer needs to know about one suspended flow run (a Prefect Variable)."""

    flow_run_id: str
    engine_url: str
    waits: list[DeferredWait]
    deferred_at: datetime = Field(default_factory=lambda: datetime.now(timezone.utc))
    timeout_at: datetime
    deferrals: int = 1


def note_name(flow_run_id: Any) -> str:
    return f"imbrace-deferral-{str(flow_run_id).lower()}"


def check_defer_after(defer_after: float | None) -> float | None:
    """`None` (blocking wait) or a positive number of seconds; anything else says what to fix."""
    if defer_after is None:
        return None
    if isinstance(defer_after, bool) or not isinstance(defer_after, (int, float)) or defer_after <= 0:
        raise ImbraceConfigurationError(
            f"defer_after must be a positive number of seconds or None, got {defer_after!r}."
        )
    return float(defer_after)


def _deployed_flow_run() -> Any:
    """The current flow run when it belongs to a deployment (only those can be rescheduled)."""
    from prefect.context import FlowRunContext

    ctx = FlowRunContext.get()
    flow_run = ctx.flow_run if ctx is not None else None
    return flow_run if flow_run is not None and flow_run.deployment_id is not None else None


def _logger() -> Any:
    from prefect.logging.loggers import get_logger, get_run_logger

    try:
        return get_run_logger()
    except Exception:
        return get_logger("prefect_imbrace.exactly_once")


def _elapsed(handle: ImbraceRunHandle) -> float:
    return (datetime.now(timezone.utc) - handle.record.first_planned_at).total_seconds()


class DeferredMember(Exception):
    """A fan-out member whose run has not ended after `defer_after`: its group decides."""


class DeferralGroup:
    """The waits of one fan-out (`trigger_many_and_wait`): the flow run suspends once.

    Each member follows its run for `defer_after`; a member whose run has not ended by then
    joins `pending` and leaves its wait (raising `DeferredMember`, which frees its in-process
    slot for the members not yet triggered). Once every member settled, `suspend()` suspends
    the flow run for all pending runs together; on resume every member adopts its run.
    """

    def __init__(self) -> None:
        self.pending: list[ImbraceRunHandle] = []

    async def finish(self) -> None:
        """Every member's run ended: drop the note (once, after the last member).

        Not per member: a member that starts after another one ended (in-process slots) still
        takes over its carried concurrency slot from the note.
        """
        flow_run = _deployed_flow_run()
        if flow_run is not None and not self.pending:
            await _forget(flow_run)

    async def suspend(self) -> None:
        """Suspend for every pending member (raises Pause), or wait for them here if impossible."""
        flow_run = _deployed_flow_run()
        remaining = min(h.options.timeout - _elapsed(h) for h in self.pending)
        if flow_run is not None and remaining >= _MIN_SUSPENSION + 1:
            await _suspend(flow_run, self.pending, remaining)
        # too little time left to suspend: the members wait again, in this process
        from prefect.client.orchestration import get_client

        for handle in self.pending:
            handle.close()
            held = _leases.pop(id(handle), None)
            if held is not None:
                held[1].cancel()
                async with get_client() as client:
                    await client.release_concurrency_slots_with_lease(UUID(held[0]))
        self.pending.clear()


async def wait_deferrable(handles: Sequence[ImbraceRunHandle], defer_after: float,
                          group: DeferralGroup | None = None) -> bool:
    """Follow `handles` for `defer_after` seconds; suspend the flow run if some have not ended.

    Returns True when every run ended (the caller reads the results); raises Prefect's
    `Pause` signal after suspending (the flow-run process then exits); returns False when no
    suspension is possible (not a deployment's flow run, or too little time left), and the
    caller then waits as usual.
    """
    flow_run = _deployed_flow_run()
    # the overall timeout counts from the first trigger, across suspensions and processes
    for handle in handles:
        handle._started = time.monotonic() - _elapsed(handle)
    if flow_run is None:
        _logger().info(
            "defer_after is ignored outside a flow run of a deployment (nothing could resume "
            "it); waiting in this process."
        )
        return False
    until = time.monotonic() + defer_after
    pending = [h for h in handles if not await h.wait_until_ended(until=until)]
    for handle in pending:  # the execution resumed after the suspension adopts from these
        await handle.persist()
    if not pending:
        if group is None:  # a fan-out forgets once, after its last member (`finish`)
            await _forget(flow_run)
        return True
    if group is not None:
        group.pending += pending
        raise DeferredMember(", ".join(h.key for h in pending))
    remaining = min(h.options.timeout - _elapsed(h) for h in pending)
    if remaining < _MIN_SUSPENSION + 1:
        return False  # about to time out anyway: the blocking wait raises the same error
    await _suspend(flow_run, pending, remaining)
    raise AssertionError("unreachable: _suspend raises Pause")  # pragma: no cover


async def _suspend(flow_run: Any, pending: Sequence[ImbraceRunHandle], remaining: float) -> None:
    from datetime import timedelta

    from prefect.client.orchestration import get_client
    from prefect.exceptions import Pause
    from prefect.flow_runs import asuspend_flow_run

    engine_url = _engine_url_of(pending[0])
    waits = [
        DeferredWait(flow_id=h.flow_id, key=h.key, run_id=h.run_id,
                     first_planned_at=h.record.first_planned_at,
                     lease_id=await _keep_slot(h, remaining))
        for h in pending
    ]
    now = datetime.now(timezone.utc)
    async with get_client() as client:
        previous = await client.read_variable_by_name(note_name(flow_run.id))
        deferrals = 1
        if previous is not None and isinstance(previous.value, dict):
            deferrals = DeferralNote.model_validate(previous.value).deferrals + 1
        note = DeferralNote(
            flow_run_id=str(flow_run.id), engine_url=engine_url, waits=waits,
            timeout_at=now + timedelta(seconds=remaining), deferrals=deferrals,
        )
        await _save_note(client, note, exists=previous is not None)
        current = await client.read_flow_run(flow_run.id)
        if DEFERRED_TAG not in (current.tags or []):
            await client.update_flow_run(flow_run.id, tags=[*(current.tags or []), DEFERRED_TAG])
    for handle in pending:
        handle.close()  # no poller watch, no interrupt hook: the run goes on without us
    runs = ", ".join(h.run_id or f"key {h.key}" for h in pending)
    _logger().info(
        "Imbrace run %s has not ended after defer_after; suspending this flow run (up to %.0fs) "
        "to release its worker. The resumer resumes it when the run ends.", runs, remaining,
    )
    await asuspend_flow_run(flow_run_id=flow_run.id, timeout=int(remaining))
    raise Pause()


def _engine_url_of(handle: ImbraceRunHandle) -> str:
    with handle.credentials.get_client() as client:
        return client.engine_url


async def _save_note(client: Any, note: DeferralNote, exists: bool) -> None:
    from prefect.client.schemas.actions import VariableCreate, VariableUpdate

    value = note.model_dump(mode="json")
    name = note_name(note.flow_run_id)
    if exists:
        await client.update_variable(VariableUpdate(name=name, value=value))
    else:
        await client.create_variable(VariableCreate(name=name, value=value, tags=[NOTE_TAG]))


async def _forget(flow_run: Any) -> None:
    """After a resume, once the waits ended: drop the note and the tag (nothing to watch)."""
    if DEFERRED_TAG not in (flow_run.tags or []):
        return  # never deferred: no API call on the ordinary path
    from prefect.client.orchestration import get_client

    async with get_client() as client:
        await forget_flow_run(client, flow_run.id)


async def forget_flow_run(client: Any, flow_run_id: Any) -> None:
    """Remove a flow run's deferral note and tag (the flow run or the resumer calls it).

    Idempotent: the flow run and the resumer may both get there.
    """
    from prefect.exceptions import ObjectNotFound

    try:
        await client.delete_variable_by_name(note_name(flow_run_id))
    except ObjectNotFound:
        pass
    current = await client.read_flow_run(flow_run_id)
    tags = [t for t in (current.tags or []) if t != DEFERRED_TAG]
    if len(tags) != len(current.tags or []):
        await client.update_flow_run(flow_run_id, tags=tags)


# -- the concurrency_limit slot, carried across a suspension -------------------------------------
#
# `prefect.concurrency.asyncio.concurrency()` holds a slot for the life of a `with` block, so
# its slot ends with the process that a suspension ends. A deferrable wait takes its slot as a
# lease through the Prefect client instead: renewed every `_LEASE_S * 0.75` while a process
# follows the run, extended to the rest of the wait's timeout when the flow run suspends
# (kept in the note), taken over by the resumed execution, released when the wait ends. A
# process killed outright leaves the slot until its lease lapses (`_LEASE_S`).

_LEASE_S = 60.0
_leases: dict[int, tuple[str, Any]] = {}  # id(handle) -> (lease id, renewal task)


async def _adopted_lease(client: Any, flow_run_id: Any, key: str) -> str | None:
    variable = await client.read_variable_by_name(note_name(flow_run_id))
    if variable is None or not isinstance(variable.value, dict):
        return None
    for wait in DeferralNote.model_validate(variable.value).waits:
        if wait.key == key and wait.lease_id:
            try:
                await client.renew_concurrency_lease(wait.lease_id, lease_duration=_LEASE_S)
            except Exception:  # lapsed (the suspension outlived it): take a new slot
                return None
            return wait.lease_id
    return None


async def _acquire_lease(client: Any, name: str) -> str:
    import asyncio

    import httpx

    from prefect_imbrace.client._base import parse_retry_after

    while True:
        try:
            response = await client.increment_concurrency_slots_with_lease(
                names=[name], slots=1, mode="concurrency", lease_duration=_LEASE_S,
            )
        except httpx.HTTPStatusError as exc:
            if exc.response.status_code != 423:
                raise
            # The server's hint in any form (seconds or HTTP date), by the client's one parser.
            await asyncio.sleep(parse_retry_after(exc.response.headers) or 1.0)
            continue
        data = response.json()
        if not data.get("limits"):
            raise ImbraceConfigurationError(
                f"concurrency_limit {name!r}: the Prefect server has no global concurrency "
                f"limit of that name. Create it: `prefect gcl create {name} --limit 8`."
            )
        return str(data["lease_id"])


async def _renew_forever(lease_id: str) -> None:
    import asyncio

    from prefect.client.orchestration import get_client

    while True:
        await asyncio.sleep(_LEASE_S * 0.75)
        try:
            async with get_client() as client:
                await client.renew_concurrency_lease(UUID(lease_id), lease_duration=_LEASE_S)
        except Exception as exc:  # a missed renewal is retried; the lease has slack left
            _logger().debug("Renewing concurrency lease %s failed: %s", lease_id, exc)


def carried_slot(name: str | None, handle: ImbraceRunHandle) -> Any:
    """One slot of the Prefect limit `name` for this wait, kept across a suspension."""
    from contextlib import asynccontextmanager

    @asynccontextmanager
    async def hold() -> Any:
        import asyncio

        from prefect.client.orchestration import get_client
        from prefect.exceptions import Pause

        if not name:
            yield
            return
        flow_run = _deployed_flow_run()
        async with get_client() as client:
            lease_id = None
            if flow_run is not None and DEFERRED_TAG in (flow_run.tags or []):
                lease_id = await _adopted_lease(client, flow_run.id, handle.key)
            if lease_id is None:
                lease_id = await _acquire_lease(client, name)
        renewal = asyncio.ensure_future(_renew_forever(lease_id))
        _leases[id(handle)] = (lease_id, renewal)
        keep = False
        try:
            yield
        except (Pause, DeferredMember):
            keep = True  # extended by `_keep_slot`; the resumed execution releases it
            raise
        finally:
            if not keep:
                renewal.cancel()
                _leases.pop(id(handle), None)
                async with get_client() as client:
                    await client.release_concurrency_slots_with_lease(UUID(lease_id))

    return hold()


async def _keep_slot(handle: ImbraceRunHandle, remaining: float) -> str | None:
    """At suspension: stretch this wait's lease over the rest of its timeout."""
    from prefect.client.orchestration import get_client

    held = _leases.get(id(handle))
    if held is None:
        return None
    lease_id, renewal = held
    renewal.cancel()
    _leases.pop(id(handle), None)
    async with get_client() as client:
        await client.renew_concurrency_lease(
            UUID(lease_id), lease_duration=remaining + _LEASE_S
        )
    return lease_id
