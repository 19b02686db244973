"""Imbrace runs started outside Prefect, written as Prefect flow runs with their steps.

`observe_imbrace_runs(..., reflect_runs=True)` hands each run it sees end to
`areflect_observed_runs`: the run becomes a flow run of a Prefect flow named after its Imbrace
flow (`Imbrace · <display name> · <flow id>`, one Prefect flow per Imbrace flow), in the run's
outcome, with its steps as task runs (`prefect_imbrace.run_graph`), so the Prefect Runs page
lists the Imbrace history beside Prefect's own runs.

Honest about time: Prefect sets a flow run's start and end times itself, when the state is
set, so these flow runs start and end when the observer wrote them. The run's real start is
the flow run's scheduled (expected) start time, which orders the Runs page; the engine's
start and finish are in the flow run's first log and its state message; the steps' task runs
carry the engine's times (step_layout.py).

Costs per run: one engine GET (its steps), 3 Prefect API writes (create with the scheduled
time, Running, the outcome), then 1 event and 1 log per step and 1 log for the run; one
`POST /flows/` per Imbrace flow per call. The steps go out after the pass's flow runs: the
server turns step events into task runs with writes of its own, and on SQLite every write
waits for one lock. `CONCURRENT_RUNS` runs are written at once, for the same reason: measured
on a SQLite server, 100 runs took 12.4 s one at a time, 13.0 s two at a time and 19.5 s eight
at a time (a flow-run create took 81 ms one at a time, 1.1 s on average eight at a time), and
45 s eight at a time with the steps sent between the writes. Every call into Prefect's client passes the package's gate
(`prefect_api.prefect_slots`). Runs a prefect-imbrace wait triggered (their trigger carries its
key header) are left out: their steps already show under the waiting task.
Each run is written once: its flow run's idempotency key is the Imbrace run id.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from prefect.logging.loggers import get_logger

from prefect_imbrace.client.models.runs import RunCategory
from prefect_imbrace.exactly_once.keys import KEY_HEADER
from prefect_imbrace.prefect_api import prefect_slots
from prefect_imbrace.run_graph import GraphParent, aflow_version, run_message, send_log, write_run

if TYPE_CHECKING:
    from prefect_imbrace.credentials import ImbraceCredentials

__all__ = ["CONCURRENT_RUNS", "areflect_observed_runs", "prefect_flow_name"]

CONCURRENT_RUNS = 2
_BANNED = re.compile(r"[/%&<>]")
_log = get_logger("prefect_imbrace.observed_runs")


def prefect_flow_name(flow_id: str, display_name: str | None) -> str:
    """`Imbrace · <display name> · <flow id>`: the id keeps two same-named flows apart."""
    name = _BANNED.sub("-", display_name or "flow").strip() or "flow"
    return f"Imbrace · {name[:80]} · {flow_id}"


def _started_by_prefect(run: Any) -> bool:
    return KEY_HEADER in getattr(run, "trigger_headers", {})


def _outcome(run: Any, credentials: ImbraceCredentials) -> Any:
    from prefect.states import Cancelled, Completed, Failed

    message = f"Imbrace run {run.id}: {run_message(run, credentials)}"
    if run.category is RunCategory.SUCCEEDED:
        return Completed(message=message)
    if run.category is RunCategory.CANCELLED:
        return Cancelled(message=message)
    return Failed(message=message)


def _run_log(run: Any, observed: datetime, link: str | None) -> str:
    start, finish = run.start_time, run.finish_time
    ran = (f"ran {start.isoformat()} to {finish.isoformat()} "
           f"({(finish - start).total_seconds():.3f} s, the engine's startTime and finishTime)"
           if start and finish else "has no start or finish time on the engine")
    return (f"Imbrace run {run.id} of flow {run.flow_id}: {run.status}; it {ran}. Observed "
            f"{observed.isoformat()}: this flow run's own start and end times are when it was "
            f"written, its expected start time is the run's start."
            + (f"\nOpen the run: {link}" if link else ""))


class _Writer:
    """Writes observed runs through one Prefect client and one Imbrace client."""

    def __init__(self, credentials: ImbraceCredentials, prefect: Any, imbrace: Any):
        self.credentials, self.prefect, self.imbrace = credentials, prefect, imbrace
        self.flow_ids: dict[str, Any] = {}
        self.flow_lock = asyncio.Lock()
        self.slots = asyncio.Semaphore(CONCURRENT_RUNS)

    async def prefect_flow(self, run: Any) -> Any:
        """The Prefect flow of the run's Imbrace flow, created once per pass (the runs written
        at once ask together: one lock, not one `POST /flows/` each)."""
        name = prefect_flow_name(run.flow_id, getattr(run.flow_version, "display_name", None))
        async with self.flow_lock:
            if name not in self.flow_ids:
                async with prefect_slots():
                    self.flow_ids[name] = await self.prefect.create_flow_from_name(name)
        return self.flow_ids[name]

    async def call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        """One call into Prefect's client, through the package's gate (`prefect_api`)."""
        async with prefect_slots():
            return await getattr(self.prefect, method)(*args, **kwargs)

    async def write(self, run_id: str) -> Callable[[], object] | None:
        """One run as a flow run, in its outcome; returns what shows its steps (the caller
        sends them after the pass's flow runs), or None when it is not written
        (Prefect-started, or written before)."""
        from prefect.client.schemas.actions import FlowRunCreate
        from prefect.client.schemas.objects import FlowRun
        from prefect.states import Running, Scheduled, to_state_create

        from prefect_imbrace.observability import run_url

        async with self.slots:
            run = await self.imbrace.workflows.get_run(run_id=run_id)
            if _started_by_prefect(run) or not run.is_terminal:
                return None
            scheduled = run.start_time or run.created or datetime.now(timezone.utc)
            create = FlowRunCreate(
                flow_id=await self.prefect_flow(run), name=f"imbrace-run-{run.id}",
                state=to_state_create(Scheduled(scheduled_time=scheduled)),
                idempotency_key=f"imbrace-run:{run.id}", tags=["imbrace", "imbrace-observed"],
                parameters={"imbrace_run_id": run.id, "imbrace_flow_id": run.flow_id},
            )
            answer = await self.call("request", "POST", "/flow_runs/", json=create.model_dump(mode="json"))
            flow_run = FlowRun.model_validate(answer.json())
            if flow_run.state is not None and flow_run.state.is_final():
                return None  # written by an earlier observer pass
            await self.call("set_flow_run_state", flow_run.id, Running(), force=True)
            observed = datetime.now(timezone.utc)
            version = await aflow_version(self.credentials, run)
            link = await asyncio.to_thread(run_url, self.credentials, run)
            send_log(flow_run.id, None, logging.INFO, _run_log(run, observed, link), observed)
            await self.call("set_flow_run_state", flow_run.id, _outcome(run, self.credentials), force=True)
            parent = GraphParent(flow_run.id)
            return lambda: write_run(run, version, parent, self.credentials, grouped=False)


async def areflect_observed_runs(
    credentials: ImbraceCredentials, run_ids: Sequence[str]
) -> tuple[int, list[str]]:
    """Write each ended run as a Prefect flow run with its steps.

    Returns how many were written and the ids whose writing failed (logged; the caller tries
    them again later). One run's failure never stops the others: observing is a view.
    """
    from prefect.client.orchestration import get_client

    from prefect_imbrace.exactly_once.clients import client_kwargs_of, shared_async_client

    if not run_ids:
        return 0, []
    async with get_client() as prefect, shared_async_client(client_kwargs_of(credentials)) as shared:
        writer = _Writer(credentials, prefect, shared.client)

        shows: list[Callable[[], object]] = []
        failed: set[str] = set()

        async def one(run_id: str) -> None:
            try:
                show_steps = await writer.write(run_id)
            except Exception as exc:
                _log.warning("Could not write Imbrace run %s as a Prefect flow run: %s", run_id, exc)
                failed.add(run_id)
                return
            if show_steps is not None:
                shows.append(show_steps)

        await asyncio.gather(*(one(r) for r in run_ids))
    # Steps last: their events become task runs on the server while it takes the flow runs'
    # writes, and on SQLite both wait for one write lock (measured: a flow run's create took
    # 1-2 s with step events in between, ~25 ms without).
    for show_steps in shows:
        show_steps()
    return len(shows), [r for r in run_ids if r in failed]
