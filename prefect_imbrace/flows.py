"""Ready-made Prefect flows: run one Imbrace flow, run a chain, observe runs started elsewhere.

They are sync flows on purpose: a sync flow can be called from sync and async parents alike.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

from prefect import flow, get_run_logger
from prefect.variables import Variable

from prefect_imbrace import observability
from prefect_imbrace.credentials import ImbraceCredentials
from prefect_imbrace.exactly_once.handle import cancel_active_runs, run_sync
from prefect_imbrace.exactly_once.outcome import ImbraceRunResult
from prefect_imbrace.observed_runs import areflect_observed_runs
from prefect_imbrace.run_graph import ShowSteps
from prefect_imbrace.tasks.waiting import trigger_flow_and_wait

__all__ = [
    "cancel_imbrace_runs_hook",
    "observe_imbrace_runs",
    "trigger_flow_and_wait_for_completion",
    "trigger_flow_chain",
]


def cancel_imbrace_runs_hook(flow: Any, flow_run: Any, state: Any) -> None:
    """on_cancellation / on_crashed hook: cancel the Imbrace runs this flow run left behind.

    Only runs this process started or adopted and that have not finished are affected, and
    only QUEUED or PAUSED ones can be cancelled by the engine; each outcome is logged.
    """
    cancelled = cancel_active_runs(str(flow_run.id), state.name if state else "stopped")
    if cancelled:
        get_run_logger().info("Cancelled %s Imbrace run(s) left by this flow run.", cancelled)


@flow(
    name="Trigger Imbrace flow and wait for completion",
    on_cancellation=[cancel_imbrace_runs_hook],
    on_crashed=[cancel_imbrace_runs_hook],
)
def trigger_flow_and_wait_for_completion(
    imbrace_credentials: ImbraceCredentials,
    flow_id: str,
    payload: Any = None,
    idempotency_key: str | None = None,
    timeout: float | None = None,
    paused_timeout: float | None = None,
    retry_failed_from_step: bool = False,
    headers: Mapping[str, str] | None = None,
    defer_after: float | None = None,
    show_steps: ShowSteps | None = None,
) -> ImbraceRunResult:
    """Run an Imbrace flow exactly once and return its result.

    A re-run of this flow run adopts the Imbrace run started before (same default key); with
    `retry_failed_from_step=True` a failed adopted run is retried from its failed step. The
    flow ends Failed with the failed step and its error in the message, or Cancelled-by-error
    (`ImbraceRunCancelled`) when the Imbrace run was cancelled. `defer_after`: deployed, this
    flow run suspends while the Imbrace run goes on (docs/how-to/deploy-deferred-waits.md).
    `show_steps`: which runs show their steps as task runs (docs/concepts/steps-in-prefect.md).
    """
    return trigger_flow_and_wait(
        imbrace_credentials,
        flow_id,
        payload,
        idempotency_key=idempotency_key,
        timeout=timeout,
        paused_timeout=paused_timeout,
        retry_failed_from_step=retry_failed_from_step,
        headers=headers,
        defer_after=defer_after,
        show_steps=show_steps,
    )


@flow(
    name="Trigger Imbrace flow chain",
    on_cancellation=[cancel_imbrace_runs_hook],
    on_crashed=[cancel_imbrace_runs_hook],
)
def trigger_flow_chain(
    imbrace_credentials: ImbraceCredentials,
    flow_ids: Sequence[str],
    payload: Any = None,
    timeout: float | None = None,
) -> list[ImbraceRunResult]:
    """Run Imbrace flows one after another; each gets the previous one's `result.payload`
    (its Return Response body, else its last step's output)."""
    results: list[ImbraceRunResult] = []
    for flow_id in flow_ids:
        result = trigger_flow_and_wait(imbrace_credentials, flow_id, payload, timeout=timeout)
        results.append(result)
        payload = result.payload
    return results


def _parse(value: Any) -> datetime | None:
    if not value:
        return None
    if isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


@flow(name="Observe Imbrace runs")
def observe_imbrace_runs(
    imbrace_credentials: ImbraceCredentials,
    flow_ids: Sequence[str] | None = None,
    variable_name: str = "imbrace-observer-cursor",
    lookback_minutes: float = 60,
    max_runs: int = 2000,
    reflect_runs: bool = False,
) -> int:
    """Emit `imbrace.flow-run.<status>` events for runs started outside Prefect.

    Schedule it (e.g. every minute). Its cursor lives in the Prefect Variable `variable_name`:
    the creation time from which runs are listed, the last status seen of unfinished runs,
    and finished runs already reported. Event ids derive from (run id, status), so a status
    also reported by a waiting task is stored once. Returns the number of events emitted.

    `reflect_runs=True` (opt-in) also writes each run that ended, unless a prefect-imbrace
    wait started it, as a Prefect flow run of a Prefect flow named after its Imbrace flow,
    with its steps as task runs, so the Prefect Runs page lists the Imbrace history: one
    engine GET, 3 Prefect API writes and 1 event and 1 log per step for each run
    (prefect_imbrace.observed_runs, docs/concepts/steps-in-prefect.md).
    """
    log = get_run_logger()
    state: dict[str, Any] = Variable.get(variable_name, default={}) or {}
    now = datetime.now(timezone.utc)
    since = _parse(state.get("since")) or now - timedelta(minutes=lookback_minutes)
    open_runs: dict[str, str] = dict(state.get("open", {}))
    done: dict[str, str] = dict(state.get("done", {}))

    emitted = 0
    ended: list[str] = []
    created: dict[str, datetime] = {}
    with imbrace_credentials.get_client() as client:
        runs = client.workflows.iter_runs(
            flow_id=list(flow_ids) if flow_ids else None, created_after=since
        ).take(max_runs)
        for run in runs:
            created[run.id] = run.created or now
            if run.id in done:
                continue
            if open_runs.get(run.id) != run.status:
                observability.emit_run_event(run)
                emitted += 1
            if run.is_terminal:
                ended.append(run.id)
                open_runs.pop(run.id, None)
                done[run.id] = (run.created or now).isoformat()
            else:
                open_runs[run.id] = run.status
    if reflect_runs and ended:
        written, failed = run_sync(areflect_observed_runs(imbrace_credentials, ended))
        for run_id in failed:  # tried again next time: kept open (same status: no new event)
            done.pop(run_id, None)
            open_runs[run_id] = "ENDED"
        log.info("Wrote %s of %s ended Imbrace runs as Prefect flow runs (the others were "
                 "started by prefect-imbrace waits or written before; %s failed).",
                 written, len(ended), len(failed))
    # the next window starts at the oldest unfinished run, else at the newest run seen
    open_created = [created[r] for r in open_runs if r in created]
    if open_created:
        new_since = min(open_created)
    elif created:
        new_since = max(created.values())
    else:
        new_since = since
    done = {r: c for r, c in done.items() if (at := _parse(c)) is not None and at >= new_since}
    open_runs = {r: s for r, s in open_runs.items() if r in created}
    Variable.set(
        variable_name,
        {"since": new_since.isoformat(), "open": open_runs, "done": done},
        overwrite=True,
    )
    log.info("Observed %s Imbrace runs; emitted %s events.", len(created), emitted)
    return emitted
