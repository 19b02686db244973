"""The resumer: one deployment that resumes every deferred wait when its Imbrace run ends.

Why an observer deployment (and not an automation on `imbrace.flow-run.*` events): while a
flow run is suspended nothing in it runs, so nobody would emit the event that an automation
waits for. The resumer is the one process that watches: every `poll_interval` it reads the
flow runs tagged `imbrace-deferred` (prefect_imbrace.exactly_once.deferral), asks the engine whether their
Imbrace runs ended, and

- resumes a Suspended flow run whose runs all ended (a worker re-executes it; the wait adopts
  the run through its trigger record and returns its result);
- cancels the Imbrace runs of a flow run that was cancelled while suspended, where the engine
  allows it (QUEUED or PAUSED), then drops its note;
- drops the note of a flow run that ended otherwise (a suspension that timed out fails it).

One resumer serves every deferred wait of one Imbrace engine (the credentials block it is
deployed with). Install it with one call::

    from prefect_imbrace import deploy_resumer

    deploy_resumer("imbrace-prod", work_pool_name="my-pool")

It occupies one flow-run slot of the pool while it runs; a deferred wait occupies none.
"""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from typing import TYPE_CHECKING, Any, cast

from prefect import flow, get_run_logger

from prefect_imbrace.credentials import ImbraceCredentials
from prefect_imbrace.exactly_once.deferral import (
    DEFERRED_TAG,
    DeferralNote,
    DeferredWait,
    forget_flow_run,
    note_name,
)

if TYPE_CHECKING:
    from uuid import UUID

    from prefect.deployments.runner import RunnerDeployment

__all__ = ["deploy_resumer", "imbrace_resumer", "resume_ended_waits"]

_CANCELLABLE = ["PAUSED", "QUEUED"]
_CLOCK_SKEW = timedelta(seconds=120)


async def _find_run(imbrace: Any, wait: DeferredWait, *, ended_only: bool) -> Any:
    """The wait's run: by id when the record had it, else the run that shows the wait's key."""
    from prefect_imbrace.exactly_once.poller import key_of

    if wait.run_id:
        return await imbrace.workflows.get_run(run_id=wait.run_id)
    async for run in imbrace.workflows.iter_runs(
        flow_id=wait.flow_id, created_after=wait.first_planned_at - _CLOCK_SKEW
    ).take(5000):
        if ended_only and not run.is_terminal:
            continue  # a run shows its trigger headers only once it pauses or ends
        full = await imbrace.workflows.get_run(run_id=run.id)
        if key_of(full) == wait.key:
            return full
    return None


async def _has_ended(imbrace: Any, wait: DeferredWait) -> bool:
    run = await _find_run(imbrace, wait, ended_only=True)
    return run is not None and run.is_terminal


async def _cancel(imbrace: Any, wait: DeferredWait) -> bool:
    run = await _find_run(imbrace, wait, ended_only=False)
    if run is None or run.status not in _CANCELLABLE:
        return False
    await imbrace.workflows.cancel_runs(flow_run_ids=[run.id], status=_CANCELLABLE)
    return True


async def _release_leases(prefect: Any, note: DeferralNote) -> None:
    """The concurrency slots a suspended wait carried: nobody will resume to release them."""
    for wait in note.waits:
        if wait.lease_id:
            try:
                await prefect.release_concurrency_slots_with_lease(wait.lease_id)
            except Exception:
                pass  # already lapsed


async def resume_ended_waits(credentials: ImbraceCredentials) -> dict[str, int]:
    """One pass over the deferred flow runs of this engine; returns what it did.

    Returns counts: `resumed` flow runs, `cancelled` Imbrace runs, `cleaned` notes, and
    `waiting` (suspended flow runs whose runs have not all ended).
    """
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterTags
    from prefect.exceptions import NotPausedError
    from prefect.flow_runs import aresume_flow_run

    log = _logger()
    done = {"resumed": 0, "cancelled": 0, "cleaned": 0, "waiting": 0}
    async with get_client() as prefect, credentials.get_async_client() as imbrace:
        deferred: list[Any] = []
        while True:  # the API returns at most 200 per page
            page = await prefect.read_flow_runs(
                flow_run_filter=FlowRunFilter(tags=FlowRunFilterTags(all_=[DEFERRED_TAG])),
                limit=200, offset=len(deferred),
            )
            deferred += page
            if len(page) < 200:
                break
        for flow_run in deferred:
            variable = await prefect.read_variable_by_name(note_name(flow_run.id))
            state = flow_run.state
            if variable is None or state is None:
                continue
            note = DeferralNote.model_validate(variable.value)
            if note.engine_url != imbrace.engine_url:
                continue  # another engine's wait: its own resumer handles it
            if state.is_paused():
                if all([await _has_ended(imbrace, wait) for wait in note.waits]):
                    try:
                        await aresume_flow_run(flow_run.id)
                    except NotPausedError:
                        continue  # resumed or cancelled meanwhile: seen on the next pass
                    done["resumed"] += 1
                    log.info("Imbrace runs of flow run %s ended: resumed it.", flow_run.name)
                else:
                    done["waiting"] += 1
            elif state.is_cancelling() or state.is_cancelled():
                await _release_leases(prefect, note)
                for wait in note.waits:
                    if await _cancel(imbrace, wait):
                        done["cancelled"] += 1
                        log.info("Flow run %s was cancelled while suspended: cancelled its "
                                 "Imbrace run (key %s).", flow_run.name, wait.key)
                await forget_flow_run(prefect, flow_run.id)
                done["cleaned"] += 1
            elif state.is_final():
                await _release_leases(prefect, note)
                await forget_flow_run(prefect, flow_run.id)
                done["cleaned"] += 1
    return done


def _logger() -> Any:
    from prefect.logging.loggers import get_logger

    try:
        return get_run_logger()
    except Exception:
        return get_logger("prefect_imbrace.exactly_once")


@flow(name="imbrace-resumer")
async def imbrace_resumer(
    credentials_block: str, poll_interval: float = 5.0, run_for: float = 600.0
) -> dict[str, int]:
    """Resume deferred waits for `run_for` seconds, one pass every `poll_interval` seconds."""
    credentials = await ImbraceCredentials.aload(credentials_block)
    totals = {"resumed": 0, "cancelled": 0, "cleaned": 0, "passes": 0}
    deadline = time.monotonic() + run_for
    while True:
        try:
            done = await resume_ended_waits(credentials)
        except Exception as exc:  # a pass that fails (API busy) must not end the watch
            _logger().warning("Resumer pass failed, retrying in %.0fs: %s", poll_interval, exc)
        else:
            for name in ("resumed", "cancelled", "cleaned"):
                totals[name] += done[name]
        totals["passes"] += 1
        if time.monotonic() + poll_interval >= deadline:
            return totals
        await asyncio.sleep(poll_interval)


def deploy_resumer(
    credentials_block: str,
    work_pool_name: str,
    *,
    name: str = "imbrace-resumer",
    poll_interval: float = 5.0,
    run_for: float = 600.0,
    job_variables: dict[str, Any] | None = None,
    start: bool = True,
) -> Any:
    """Deploy the resumer on a work pool and (by default) start its first run; returns the id.

    The deployment runs every `run_for` seconds, each run watching for `run_for` seconds, one
    at a time (deployment concurrency limit 1), so one resumer is always watching. The worker
    imports it from the installed package (entrypoint `prefect_imbrace.exactly_once.resumer.imbrace_resumer`),
    so the pool's workers need prefect-imbrace installed. Resumes happen within about one
    `poll_interval` of an Imbrace run's end, plus the pool's pick-up time.
    """
    from prefect.deployments import run_deployment
    from prefect.types.entrypoint import EntrypointType

    if poll_interval <= 0 or run_for < poll_interval:
        raise ValueError("poll_interval must be > 0 and run_for at least one poll_interval.")
    # to_deployment is sync-compatible: called from sync code it returns the deployment itself
    deployment = cast("RunnerDeployment", imbrace_resumer.to_deployment(
        name=name,
        interval=run_for,
        concurrency_limit=1,
        parameters={"credentials_block": credentials_block, "poll_interval": poll_interval,
                    "run_for": run_for},
        job_variables=job_variables,
        entrypoint_type=EntrypointType.MODULE_PATH,
        description="Resumes Prefect flow runs suspended by deferred Imbrace waits.",
    ))
    deployment_id = cast("UUID", deployment.apply(work_pool_name=work_pool_name))
    if start:
        run_deployment(name=deployment_id, timeout=0)
    return deployment_id
