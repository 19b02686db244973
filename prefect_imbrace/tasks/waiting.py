"""Tasks that trigger Imbrace flows and wait for their runs, exactly once per logical call.

Explicit pairs: `trigger_flow_and_wait` (sync flows and tasks) and `atrigger_flow_and_wait`
(async ones, awaited); `trigger_many_and_wait` / `atrigger_many_and_wait` likewise. Each is a
plain Prefect task; the sync one drives the same coroutine through Prefect's run-sync loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from prefect_imbrace import observability
from prefect_imbrace.exactly_once.active import guard_interrupts, run_sync
from prefect_imbrace.exactly_once.deferral import DeferralGroup, DeferredMember, check_defer_after
from prefect_imbrace.exactly_once.options import WaitOptions
from prefect_imbrace.exactly_once.outcome import ImbraceRunResult
from prefect_imbrace.exactly_once.waits import atrigger_and_wait
from prefect_imbrace.exceptions import ImbraceRunFailed
from prefect_imbrace.run_graph import ShowSteps, steps_view

if TYPE_CHECKING:
    from prefect_imbrace.credentials import ImbraceCredentials

__all__ = [
    "atrigger_flow_and_wait",
    "atrigger_many_and_wait",
    "trigger_flow_and_wait",
    "trigger_many_and_wait",
]

# Never cached: exactly-once comes from the trigger's record, not from Prefect's cache.
_OPTIONS: dict[str, Any] = {"cache_policy": NO_CACHE}


@task(name="Trigger Imbrace flow and wait", **_OPTIONS)
async def atrigger_flow_and_wait(
    imbrace_credentials: ImbraceCredentials,
    flow_id: str,
    payload: Any = None,
    idempotency_key: str | None = None,
    timeout: float | None = None,
    paused_timeout: float | None = None,
    max_poll_errors: int | None = None,
    headers: Mapping[str, str] | None = None,
    retry_failed_from_step: bool = False,
    concurrency_limit: str | None = None,
    defer_after: float | None = None,
    show_steps: ShowSteps | None = None,
) -> ImbraceRunResult:
    """Run an Imbrace flow once and return its result; raise if it did not succeed (async).

    The trigger carries an idempotency key (default: derived from the call's place in the
    Prefect flow run, so retries of this task, of an enclosing task and re-runs of the flow run
    adopt the run already started instead of starting another; see
    docs/concepts/trigger-and-wait.md). Raises `ImbraceRunFailed` (naming the failed step),
    `ImbraceRunCancelled`, or `ImbraceRunWaitTimeout` when `timeout` (overall) or
    `paused_timeout` (time spent PAUSED) run out. `retry_failed_from_step=True` retries an
    adopted failed run from its failed step (so it only acts on a re-run).
    `concurrency_limit` names a Prefect global concurrency limit. `defer_after=SECONDS`: in a
    flow run of a deployment, a run still going after that long suspends the flow run (its
    worker is released) until the resumer resumes it; the result is the same
    (docs/how-to/deploy-deferred-waits.md). `show_steps` (`"auto"`, `"all"`, `"failed"`,
    `"none"`; default: the block's `show_steps`, else the setting, `auto`: all until the flow
    run holds 200 step task runs of successful runs, then failed runs only): once the run
    ended, its steps show as task runs nested under this task run
    (docs/concepts/steps-in-prefect.md).
    """
    with steps_view(show_steps, grouped=False):
        return await atrigger_and_wait(
            imbrace_credentials, flow_id, payload, idempotency_key=idempotency_key,
            headers=headers, options=WaitOptions(timeout, paused_timeout, max_poll_errors),
            retry_failed_from_step=retry_failed_from_step, concurrency_limit=concurrency_limit,
            defer_after=defer_after,
        )


@task(name="Trigger Imbrace flow and wait", **_OPTIONS)
def trigger_flow_and_wait(
    imbrace_credentials: ImbraceCredentials,
    flow_id: str,
    payload: Any = None,
    idempotency_key: str | None = None,
    timeout: float | None = None,
    paused_timeout: float | None = None,
    max_poll_errors: int | None = None,
    headers: Mapping[str, str] | None = None,
    retry_failed_from_step: bool = False,
    concurrency_limit: str | None = None,
    defer_after: float | None = None,
    show_steps: ShowSteps | None = None,
) -> ImbraceRunResult:
    """Run an Imbrace flow once and return its result; raise if it did not succeed (sync).

    Same arguments and behaviour as `atrigger_flow_and_wait`; an interrupt of the calling
    thread cancels the run where the engine allows it (QUEUED or PAUSED).
    """
    with guard_interrupts(), steps_view(show_steps, grouped=False):
        return run_sync(atrigger_and_wait(
            imbrace_credentials, flow_id, payload, idempotency_key=idempotency_key,
            headers=headers, options=WaitOptions(timeout, paused_timeout, max_poll_errors),
            retry_failed_from_step=retry_failed_from_step, concurrency_limit=concurrency_limit,
            defer_after=defer_after,
        ))


async def _run_many(
    imbrace_credentials: ImbraceCredentials,
    flow_id: str,
    payloads: Sequence[Any],
    max_concurrent: int | None,
    concurrency_limit: str | None,
    timeout: float | None,
    paused_timeout: float | None,
    return_exceptions: bool,
    defer_after: float | None = None,
) -> list[Any]:
    log = get_run_logger()
    group = DeferralGroup() if check_defer_after(defer_after) else None
    payloads = list(payloads)
    total = len(payloads)
    log.info("Triggering Imbrace flow %s %s times.", flow_id, total)
    progress = observability.FanOutProgress(f"Imbrace flow {flow_id}: {total} runs", total)
    options = WaitOptions(timeout, paused_timeout)

    async def one(index: int, payload: Any, defer: bool = True) -> Any:
        try:
            return await atrigger_and_wait(
                imbrace_credentials, flow_id, payload, options=options,
                concurrency_limit=concurrency_limit, max_concurrent=max_concurrent,
                discriminator=f"fan-out:{index}", artifacts=False, quiet=True,
                defer_after=defer_after if defer else None, defer_group=group,
            )
        except DeferredMember:
            raise
        except Exception as exc:
            log.warning("Imbrace flow %s, payload %s: %s", flow_id, index, exc)
            raise
        finally:
            progress.done += 1

    try:
        results = await asyncio.gather(*(one(i, p) for i, p in enumerate(payloads)),
                                       return_exceptions=True)
        if group is not None and group.pending:
            await group.suspend()  # raises Pause: the flow run resumes once all pending runs ended
            # no suspension possible (not a deployment): wait for the pending runs here
            results = await asyncio.gather(*(
                one(i, p, defer=False) if isinstance(r, DeferredMember) else _value(r)
                for i, (p, r) in enumerate(zip(payloads, results, strict=True))
            ), return_exceptions=True)
        if group is not None:
            await group.finish()  # the waits of a resumed fan-out ended: drop its deferral note
    except BaseException:
        progress.abandon()  # suspended or interrupted: the resumed run writes its own
        raise
    await asyncio.gather(progress.finish(), observability.arecord_batch_table(
        imbrace_credentials, flow_id, list(results), payloads=payloads))
    failures = [r for r in results if isinstance(r, BaseException)]
    log.info("Imbrace flow %s: %s of %s runs succeeded.", flow_id, total - len(failures), total)
    if failures and not return_exceptions:
        first = failures[0]
        if len(failures) == 1:
            raise first
        raise ImbraceRunFailed(
            f"{len(failures)} of {total} runs of Imbrace flow {flow_id} did not succeed; "
            f"first: {first}", flow_id=flow_id,
        ) from first
    return results


async def _value(value: Any) -> Any:
    if isinstance(value, BaseException):
        raise value
    return value


@task(name="Trigger Imbrace flow many times and wait", **_OPTIONS)
async def atrigger_many_and_wait(
    imbrace_credentials: ImbraceCredentials,
    flow_id: str,
    payloads: Sequence[Any],
    max_concurrent: int | None = None,
    concurrency_limit: str | None = None,
    timeout: float | None = None,
    paused_timeout: float | None = None,
    return_exceptions: bool = False,
    defer_after: float | None = None,
    show_steps: ShowSteps | None = None,
) -> list[Any]:
    """Run `flow_id` once per payload, concurrently, and return the results in order (async).

    One task drives all runs on one event loop, so hundreds of runs cost one list call per
    poll tick (shared poller), not hundreds of GETs. `max_concurrent` bounds the runs in
    flight (default `PREFECT_INTEGRATIONS_IMBRACE_TRIGGER_CONCURRENCY`); `concurrency_limit`
    also takes a slot of that Prefect global concurrency limit per run. A progress artifact
    follows the fan-out and one table artifact lists every run at the end (run id, status,
    duration, failed step, link) instead of a link and a summary per run; the routine log
    lines of each run go to DEBUG, failures and the totals stay at INFO. Each payload gets its
    own stable idempotency key and record, so a retry of this task adopts the runs
    already started. With `return_exceptions=False` the first failure is raised after all runs
    ended; with True, failures are returned in place of results. `defer_after`: in a flow run
    of a deployment, runs still going after that long suspend the flow run once for all of
    them (docs/how-to/deploy-deferred-waits.md). `show_steps` (default: the block's
    `show_fan_out_steps`, else the setting, `failed`): which runs show a task run of their own
    under this one, their steps nested inside (docs/concepts/steps-in-prefect.md).
    """
    with steps_view(show_steps, fan_out=True):
        return await _run_many(imbrace_credentials, flow_id, payloads, max_concurrent,
                               concurrency_limit, timeout, paused_timeout, return_exceptions,
                               defer_after)


@task(name="Trigger Imbrace flow many times and wait", **_OPTIONS)
def trigger_many_and_wait(
    imbrace_credentials: ImbraceCredentials,
    flow_id: str,
    payloads: Sequence[Any],
    max_concurrent: int | None = None,
    concurrency_limit: str | None = None,
    timeout: float | None = None,
    paused_timeout: float | None = None,
    return_exceptions: bool = False,
    defer_after: float | None = None,
    show_steps: ShowSteps | None = None,
) -> list[Any]:
    """Run `flow_id` once per payload, concurrently, and return the results in order (sync).

    Same arguments and behaviour as `atrigger_many_and_wait`.
    """
    with guard_interrupts(), steps_view(show_steps, fan_out=True):
        return run_sync(_run_many(imbrace_credentials, flow_id, payloads, max_concurrent,
                                  concurrency_limit, timeout, paused_timeout, return_exceptions,
                                  defer_after))
