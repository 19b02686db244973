"""A flow-run process killed (SIGKILL) while it waits: crashed, re-run adopts the same run."""

from __future__ import annotations

import os
import signal
import time
import uuid

from imbrace_flows import running_delays
from prefect.states import Scheduled

from prefect_imbrace.client import create_webhook_flow
from prefect_imbrace.client import operations as ops
from prefect_imbrace.credentials import ImbraceCredentials
from prefect_imbrace.local import ImbraceLocal
from prefect_imbrace.testing_deployments import PrefectServer, flow_run_pids
from prefect_imbrace.testing_stack import on_both_stacks

from .conftest import FLOWS, save_block


@on_both_stacks
def test_a_killed_flow_run_is_crashed_and_its_re_run_adopts_the_imbrace_run(
    prefect_server: PrefectServer, engine: ImbraceLocal, credentials: ImbraceCredentials
) -> None:
    suffix = uuid.uuid4().hex[:6]
    with credentials.get_client() as client:
        flow_id = create_webhook_flow(client, "Twenty seconds", [
            *running_delays(20), ops.return_response("step_2", body={"done": True}),
        ]).id
    block = save_block(prefect_server, credentials, f"killed-{suffix}")
    pool = f"killed-{suffix}"
    prefect_server.create_pool(pool)
    deployment_id = prefect_server.deploy(f"{FLOWS}:wait_on_imbrace", name="killed", pool=pool)
    (worker,) = prefect_server.start_workers(pool, count=1)
    try:
        flow_run = prefect_server.run_deployment(
            deployment_id, parameters={"block": block, "flow_id": flow_id, "index": 0}
        )
        deadline = time.monotonic() + 240
        while not (engine.control.counters()["runs_per_flow"].get(flow_id) and flow_run_pids(flow_run.id)):
            assert time.monotonic() < deadline, worker.log()[-3000:]
            time.sleep(0.5)
        for pid in flow_run_pids(flow_run.id):
            os.kill(pid, signal.SIGKILL)

        (crashed,) = prefect_server.wait_for_flow_runs([flow_run.id], timeout=60, poll=0.5)
        assert crashed.state.is_crashed(), crashed.state
        time.sleep(5)  # the runner reports Crashed at once, the worker again ~3 s later
        assert prefect_server.read_flow_run(flow_run.id).state.is_crashed()

        with prefect_server.client() as client:  # a re-run of the same flow run
            client.set_flow_run_state(flow_run.id, Scheduled(), force=True)
        (done,) = prefect_server.wait_for_flow_runs([flow_run.id], timeout=240)
        assert done.state.is_completed(), (done.state, worker.log()[-3000:])
        with prefect_server.settings():
            result = done.state.result()
        with credentials.get_client() as client:
            (run,) = list(client.workflows.iter_runs(flow_id=flow_id))
        assert result["run_id"] == run.id and result["payload"] == {"done": True}
        assert engine.control.counters()["runs_per_flow"][flow_id] == 1  # adopted, not re-sent
    finally:
        worker.stop()
