"""N logical triggers produce exactly N Imbrace runs, whatever goes wrong in between."""

from __future__ import annotations

import pytest
from prefect import flow, task
from prefect.client.orchestration import get_client
from prefect.flow_engine import run_flow
from prefect.states import Scheduled

from prefect_imbrace.jobs import ImbraceFlow
from prefect_imbrace.tasks import trigger_flow_and_wait, trigger_many_and_wait


def runs_of(engine, flow_id: str) -> int:
    return engine.control.counters()["runs_per_flow"].get(flow_id, 0)


def webhook(fid: str) -> str:
    return f"/v1/webhooks/{fid}$"


def test_lost_response_after_processing_adopts_the_run(creds, flows, engine):
    fid = flows.echo()
    engine.control.add_fault(path=webhook(fid), method="POST", lost_response=True, times=1)

    @flow
    def parent():
        return trigger_flow_and_wait(creds, fid, {"n": 1})

    result = parent()
    assert result.payload == {"echo": {"n": 1}}
    assert engine.control.counters()["faults_fired"] == 1
    assert runs_of(engine, fid) == 1


def test_task_retry_adopts_the_run_of_the_failed_attempt(creds, flows, engine):
    fid = flows.slow(0.5)
    # the first attempt sends its trigger, then its first poll is refused (not transient)
    engine.control.add_fault(path="/v1/flow-runs$", method="GET", status=401, times=1)
    retrying = trigger_flow_and_wait.with_options(retries=2, retry_delay_seconds=0)

    @flow
    def parent():
        return retrying(creds, fid, {"n": 2})

    result = parent()
    assert result.status == "SUCCEEDED"
    assert engine.control.counters()["faults_fired"] == 1
    assert runs_of(engine, fid) == 1


def test_rerun_of_the_flow_run_after_a_crash_adopts_the_run(creds, flows, engine):
    fid = flows.slow(0.5)
    job = ImbraceFlow(imbrace_credentials=creds, flow_id=fid)
    attempts = []

    @flow
    def parent():
        run = job.trigger(payload={"n": 3})
        attempts.append((run.run_id, run.adopted))
        if len(attempts) == 1:
            raise RuntimeError("simulated crash after the trigger")
        return run.fetch_result()

    async def create():
        async with get_client() as client:
            return await client.create_flow_run(parent, parameters={})

    import asyncio

    flow_run = asyncio.run(create())
    first = run_flow(parent, flow_run=flow_run, return_type="state")
    assert first.is_failed()

    async def reschedule():
        async with get_client() as client:
            await client.set_flow_run_state(flow_run.id, Scheduled(), force=True)
            return await client.read_flow_run(flow_run.id)

    flow_run = asyncio.run(reschedule())
    second = run_flow(parent, flow_run=flow_run, return_type="state")
    assert second.is_completed(), second.message
    (run_1, adopted_1), (run_2, adopted_2) = attempts
    assert run_1 == run_2 and not adopted_1 and adopted_2
    assert runs_of(engine, fid) == 1


def test_flow_retry_adopts_and_retries_from_failed_step(creds, flows, engine):
    fid = flows.failing()
    seen = []

    @flow(retries=1, retry_delay_seconds=0)
    def parent():
        try:
            return trigger_flow_and_wait(creds, fid, {}, retry_failed_from_step=True)
        except Exception as exc:
            seen.append(str(exc))
            raise

    state = parent(return_state=True)
    assert state.is_failed()
    assert len(seen) == 2  # the first attempt and the re-run both saw the failure
    with creds.get_client() as client:  # the re-run retried the same run, not a new one
        assert len(client.workflows.list_runs(flow_id=fid, limit=50).data) == 1
    assert "from its failed step" not in seen[0]
    requests = engine.control.counters()["requests"]
    assert any(k.startswith("POST") and k.endswith("/retry") for k in requests)


@pytest.mark.parametrize("n", [6])
def test_n_logical_triggers_under_faults_make_n_runs(creds, flows, engine, n):
    fid = flows.echo()
    engine.control.add_fault(path=webhook(fid), method="POST", lost_response=True, times=3)
    engine.control.add_fault(path="/v1/flow-runs$", method="GET", status=503, times=4)
    engine.control.add_fault(path="/v1/flow-runs/[A-Za-z0-9]{21}$", method="GET", status=502, times=2)

    @task(retries=1, retry_delay_seconds=0)
    def flaky_once(i: int) -> int:
        return i

    @flow
    def parent():
        results = trigger_many_and_wait(creds, fid, [{"i": i} for i in range(n)], max_concurrent=3)
        return [r.payload["echo"]["i"] for r in results]

    assert parent() == list(range(n))
    assert runs_of(engine, fid) == n
    _ = flaky_once
