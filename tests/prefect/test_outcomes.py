"""How Imbrace run endings become Prefect states: results, failures, cancellations, limits."""

from __future__ import annotations

import asyncio
import time

import pytest
from prefect import flow

from prefect_imbrace.client import operations as ops
from prefect_imbrace.exceptions import ImbraceRunCancelled, ImbraceRunFailed, ImbraceRunWaitTimeout
from prefect_imbrace.flows import trigger_flow_and_wait_for_completion, trigger_flow_chain
from prefect_imbrace.jobs import ImbraceFlow
from prefect_imbrace.tasks import get_run, trigger_flow_and_wait


def wait_for_status(creds, fid, status, limit=60.0):
    """Bounded: poll the engine until a run of `fid` has `status`; its id."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        with creds.get_client() as client:
            for run in client.workflows.list_runs(flow_id=fid, limit=50).data:
                if run.status == status:
                    return run.id
        time.sleep(0.1)
    raise AssertionError(f"no run of {fid} reached {status}")


def test_success_returns_typed_result_with_reply_steps_and_duration(creds, flows):
    fid = flows.echo(extra={"ok": True})
    result = trigger_flow_and_wait_for_completion(creds, fid, {"order": 7})
    assert result.status == "SUCCEEDED"
    assert result.flow_id == fid and len(result.run_id) == 21
    assert result.reply["body"] == {"echo": {"order": 7}, "ok": True}
    assert result.payload == {"echo": {"order": 7}, "ok": True}
    assert result.steps["step_1"].status == "SUCCEEDED"
    assert result.steps["trigger"].output["body"] == {"order": 7}
    assert result.duration_seconds is not None and result.duration_seconds >= 0


def test_chain_passes_each_reply_or_last_output_to_the_next_flow(creds, flows):
    a = flows.echo("A")
    b = flows.mapper("B", {"from_a": "{{trigger.body.echo.n}}", "stage": "b"})
    c = flows.echo("C")
    results = trigger_flow_chain(creds, [a, b, c], {"n": 3})
    assert [r.status for r in results] == ["SUCCEEDED"] * 3
    assert results[0].payload == {"echo": {"n": 3}}
    assert results[1].reply is None
    assert results[1].payload == {"from_a": 3, "stage": "b"}
    assert results[2].payload == {"echo": {"from_a": 3, "stage": "b"}}


def test_failed_run_fails_the_flow_naming_step_and_error(creds, flows):
    fid = flows.failing()
    state = trigger_flow_and_wait_for_completion(creds, fid, {}, return_state=True)
    assert state.is_failed()
    with pytest.raises(ImbraceRunFailed) as info:
        state.result()
    err = info.value
    assert err.status == "FAILED" and err.failed_step == "step_1"
    assert "ended FAILED at step 'step_1'" in str(err)
    assert err.error_message and err.error_message in str(err)


def test_cancelled_run_raises_cancelled(creds, flows, engine):
    fid = flows.paused()

    @flow
    def parent():
        job = ImbraceFlow(imbrace_credentials=creds, flow_id=fid, timeout_seconds=60)
        run = job.trigger(payload={})
        paused = wait_for_status(creds, fid, "PAUSED")
        with creds.get_client() as client:
            client.workflows.cancel_runs(flow_run_ids=[paused])
        return run.fetch_result()

    state = parent(return_state=True)
    assert state.is_failed()
    with pytest.raises(ImbraceRunCancelled, match="was cancelled"):
        state.result()


def test_unknown_status_without_finish_time_keeps_waiting_until_the_limit(creds, flows, engine):
    fid = flows.paused()

    @flow
    async def parent():
        job = ImbraceFlow(imbrace_credentials=creds, flow_id=fid, timeout_seconds=3)
        run = await job.atrigger(payload={})
        paused = await asyncio.to_thread(wait_for_status, creds, fid, "PAUSED")
        engine.control.set_run_status(paused, "SOMETHING_NEW")
        return await run.afetch_result()

    state = asyncio.run(parent(return_state=True))
    with pytest.raises(ImbraceRunWaitTimeout, match="still SOMETHING_NEW"):
        state.result()


def test_unknown_status_with_finish_time_is_a_failure(creds, flows, engine):
    fid = flows.echo()

    @flow
    def parent():
        result = trigger_flow_and_wait(creds, fid, {})
        engine.control.set_run_status(result.run_id, "SOMETHING_ENDED")
        # the same logical trigger again: adopted, already finished with an unknown status
        return trigger_flow_and_wait(creds, fid, {}, idempotency_key=result.idempotency_key)

    state = parent(return_state=True)
    with pytest.raises(ImbraceRunFailed, match="SOMETHING_ENDED \\(status unknown"):
        state.result()
    assert engine.control.counters()["runs_per_flow"][fid] == 1


def test_paused_limit_is_separate_from_overall_limit(creds, flows):
    fid = flows.paused()
    state = trigger_flow_and_wait_for_completion(
        creds, fid, {}, timeout=120, paused_timeout=1, return_state=True
    )
    with pytest.raises(ImbraceRunWaitTimeout, match="stayed PAUSED longer than 1s") as info:
        state.result()
    assert info.value.run_id and info.value.status == "PAUSED"


def test_transient_polling_errors_are_tolerated_within_budget(creds, flows, engine):
    fid = flows.slow(1.5)
    engine.control.add_fault(path="/v1/flow-runs$", method="GET", status=503, times=3)
    result = trigger_flow_and_wait_for_completion(creds, fid, {})
    assert result.status == "SUCCEEDED"


def test_polling_error_budget_exhausted_fails(creds, flows, engine):
    fid = flows.slow(3)
    engine.control.add_fault(path="/v1/flow-runs$", method="GET", status=503, times=50)

    @flow
    def parent():
        return trigger_flow_and_wait(creds, fid, {}, max_poll_errors=0)

    state = parent(return_state=True)
    assert state.is_failed()
    assert "503" in state.message or "Server" in state.message


def test_status_reads_are_never_cached(creds, flows):
    fid = flows.echo()

    @flow
    def parent():
        result = trigger_flow_and_wait(creds, fid, {})
        first = get_run(creds, result.run_id)
        second = get_run(creds, result.run_id)
        return first, second

    first, second = parent()
    assert first.id == second.id
    from prefect.cache_policies import NO_CACHE

    assert get_run.cache_policy is NO_CACHE or type(get_run.cache_policy) is type(NO_CACHE)
    _ = ops  # builders are used by the factory
