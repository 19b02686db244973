"""Deferred waits on a real server: the worker is released while the Imbrace run waits.

The Imbrace flow pauses for 2 minutes (a delay step: the run is PAUSED). With `defer_after=5`
the Prefect flow run suspends (no flow-run process left), the resumer (deployed with
`deploy_resumer`) resumes it within 3 poll intervals of the run's end, and the re-executed
flow adopts the same Imbrace run and returns its result. A second flow run, cancelled in
Prefect while suspended, gets its (PAUSED) Imbrace run cancelled by the resumer.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from prefect.states import Cancelled

from prefect_imbrace.client import create_webhook_flow
from prefect_imbrace.client import operations as ops
from prefect_imbrace.credentials import ImbraceCredentials
from prefect_imbrace.local import ImbraceLocal
from prefect_imbrace.testing_deployments import (
    PrefectServer,
    wait_for_no_flow_run_process,
)
from prefect_imbrace.testing_stack import on_both_stacks

from .conftest import FLOWS, resumer_running, save_block

POLL_INTERVAL = 5.0
WAIT = {"defer_after": 5, "timeout": 900}


def _is_suspended(flow_run) -> bool:
    return flow_run.state is not None and flow_run.state.name == "Suspended"


@on_both_stacks
def test_a_two_minute_wait_releases_the_worker_and_resumes_with_the_result(
    prefect_server: PrefectServer, engine: ImbraceLocal, credentials: ImbraceCredentials
) -> None:
    suffix = uuid.uuid4().hex[:6]
    with credentials.get_client() as client:
        flow_id = create_webhook_flow(client, "Two minutes", [
            ops.delay("step_1", 2, unit="minutes"),
            ops.return_response("step_2", body={"approved": True}),
        ]).id
    block = save_block(prefect_server, credentials, f"deferred-{suffix}")
    pool = f"deferred-{suffix}"
    prefect_server.create_pool(pool)
    deployment_id = prefect_server.deploy(f"{FLOWS}:wait_on_imbrace", name="deferred", pool=pool)
    params = {"block": block, "flow_id": flow_id, "wait": WAIT}
    with resumer_running(prefect_server, block, pool, POLL_INTERVAL):
        (worker,) = prefect_server.start_workers(pool, count=1, limit=4)
        try:
            waited = prefect_server.run_deployment(deployment_id, parameters={**params, "index": 1})
            cancelled = prefect_server.run_deployment(deployment_id, parameters={**params, "index": 2})
            prefect_server.wait_for_flow_runs(
                [waited.id, cancelled.id], timeout=240, until=_is_suspended
            )
            # suspended: no process runs either flow run, and each Imbrace run is PAUSED
            assert wait_for_no_flow_run_process(waited.id) == []
            assert wait_for_no_flow_run_process(cancelled.id) == []
            with credentials.get_client() as client:
                runs = list(client.workflows.iter_runs(flow_id=flow_id))
            assert sorted(run.status for run in runs) == ["PAUSED", "PAUSED"]

            with prefect_server.client() as client:  # a Prefect cancel of a suspended flow run
                client.set_flow_run_state(cancelled.id, Cancelled(), force=True)

            (done,) = prefect_server.wait_for_flow_runs([waited.id], timeout=400, poll=2)
            assert done.state.is_completed(), done.state
            with prefect_server.settings():
                result = done.state.result()
            with credentials.get_client() as client:
                runs = {run.id: client.workflows.get_run(run_id=run.id)
                        for run in client.workflows.iter_runs(flow_id=flow_id)}
            ours = runs[result["run_id"]]
            assert result["payload"] == {"approved": True}
            assert ours.status == "SUCCEEDED"
            assert engine.control.counters()["runs_per_flow"][flow_id] == 2  # one run per flow run
            (other,) = [run for run_id, run in runs.items() if run_id != result["run_id"]]
            assert other.status == "CANCELED"  # cancelled by the resumer

            with prefect_server.client() as client:
                states = client.read_flow_run_states(waited.id)
            resumed_at = next(s.timestamp for s in states if s.name == "Resuming" or (
                s.type.value == "SCHEDULED" and any(p.name == "Suspended" for p in states[: states.index(s)])))
            finished = ours.finish_time
            lag = (resumed_at - finished).total_seconds()
            # one poll interval to notice the end, the rest for the resumer's calls on a busy machine
            assert lag <= 3 * POLL_INTERVAL, f"resumed {lag:.1f}s after the Imbrace run ended"
            print(f"deferred wait: resumed {lag:.1f}s after the run ended; finished {datetime.now()}")
        finally:
            worker.stop()
