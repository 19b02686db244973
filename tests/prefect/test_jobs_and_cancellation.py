"""The ImbraceFlow/ImbraceFlowRun job pair, and cancelling or crashing a Prefect run."""

from __future__ import annotations

import asyncio
import contextlib
import time

import pytest
from prefect import flow

from prefect_imbrace.exceptions import ImbraceRunFailed
from prefect_imbrace.flows import cancel_imbrace_runs_hook
from prefect_imbrace.jobs import ImbraceFlow, ImbraceFlowRun
from prefect_imbrace.tasks import atrigger_flow_and_wait


def statuses(creds, fid):
    with creds.get_client() as client:
        return [r.status for r in client.workflows.list_runs(flow_id=fid, limit=50).data]


def wait_for_status(creds, fid, status, limit=60.0):
    """Bounded: poll the engine until a run of `fid` has `status`."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if status in statuses(creds, fid):
            return
        time.sleep(0.1)
    raise AssertionError(f"no run of {fid} reached {status}: {statuses(creds, fid)}")


def test_job_block_in_a_sync_flow_saves_loads_triggers_waits_fetches(creds, flows):
    fid = flows.echo()
    ImbraceFlow(imbrace_credentials=creds, flow_id=fid, payload={"default": 1}).save(
        "echo-job", overwrite=True
    )

    @flow
    def parent():
        job = ImbraceFlow.load("echo-job")
        run = job.trigger()
        assert isinstance(run, ImbraceFlowRun) and run.state.value == "SENT"
        run.wait_for_completion()
        assert run.run_id and run.state.value == "ENDED"
        return run.fetch_result()

    result = parent()
    assert result.payload == {"echo": {"default": 1}}


def test_job_block_in_an_async_flow_uses_the_async_twins(creds, flows):
    fid = flows.failing()
    job = ImbraceFlow(imbrace_credentials=creds, flow_id=fid)

    @flow
    async def parent():
        run = await job.atrigger(payload={"a": 1})
        with pytest.raises(ImbraceRunFailed, match="step 'step_1'"):
            await run.await_for_completion()
        with pytest.raises(ImbraceRunFailed):
            await run.afetch_result()
        return run.status

    assert asyncio.run(parent()) == "FAILED"


def test_job_run_cancel_cancels_a_paused_run(creds, flows):
    fid = flows.paused()
    job = ImbraceFlow(imbrace_credentials=creds, flow_id=fid)

    @flow
    def parent():
        run = job.trigger()
        wait_for_status(creds, fid, "PAUSED")
        return run.cancel()

    assert parent() is True
    assert statuses(creds, fid) == ["CANCELED"]


def test_cancelling_an_async_prefect_flow_cancels_the_imbrace_run(creds, flows, caplog):
    fid = flows.paused()

    @flow
    async def parent():
        return await atrigger_flow_and_wait(creds, fid, {})

    async def main():
        running = asyncio.create_task(parent())
        await asyncio.to_thread(wait_for_status, creds, fid, "PAUSED")
        running.cancel()
        with contextlib.suppress(BaseException):
            await running

    asyncio.run(main())
    assert statuses(creds, fid) == ["CANCELED"]
    assert "Cancelled Imbrace run" in caplog.text


def test_crashed_flow_hook_cancels_runs_it_left_behind(creds, flows, caplog):
    fid = flows.paused()
    job = ImbraceFlow(imbrace_credentials=creds, flow_id=fid)

    @flow(on_crashed=[cancel_imbrace_runs_hook])
    def parent():
        job.trigger()
        wait_for_status(creds, fid, "PAUSED")
        raise SystemExit(3)  # a crash: not an ordinary exception

    with pytest.raises(SystemExit):
        parent()
    assert statuses(creds, fid) == ["CANCELED"]
    assert "Cancelled Imbrace run" in caplog.text
