"""A deferred wait on an approval: the worker is released while the Imbrace run waits for a person.

The Imbrace flow asks for approval with Respond and Wait for Next Webhook (its run is PAUSED
until a request reaches its resume URL). Deployed with `defer_after=5`, the Prefect flow run
suspends (no flow-run process left); the approver calls the resume URL through the client;
the resumer resumes the flow run once the Imbrace run has ended, and the re-executed flow
adopts that run and returns the approved reply.
"""

from __future__ import annotations

import uuid

from imbrace_flows import ImbraceFlows, approve_when_paused

from prefect_imbrace.credentials import ImbraceCredentials
from prefect_imbrace.local import ImbraceLocal
from prefect_imbrace.testing_deployments import PrefectServer, wait_for_no_flow_run_process

from .conftest import FLOWS, resumer_running, save_block

POLL_INTERVAL = 5.0


def test_an_approval_releases_the_worker_and_resumes_with_the_approved_reply(
    prefect_server: PrefectServer, engine: ImbraceLocal, credentials: ImbraceCredentials
) -> None:
    suffix = uuid.uuid4().hex[:6]
    with credentials.get_client() as client:
        flow_id = ImbraceFlows(client).approval("Invoice approval")
    block = save_block(prefect_server, credentials, f"approval-{suffix}")
    pool = f"approval-{suffix}"
    prefect_server.create_pool(pool)
    deployment_id = prefect_server.deploy(f"{FLOWS}:wait_on_imbrace", name="approval", pool=pool)
    params = {"block": block, "flow_id": flow_id, "index": 1, "wait": {"defer_after": 5, "timeout": 900}}
    with resumer_running(prefect_server, block, pool, POLL_INTERVAL):
        (worker,) = prefect_server.start_workers(pool, count=1, limit=4)
        try:
            waiting = prefect_server.run_deployment(deployment_id, parameters=params)
            prefect_server.wait_for_flow_runs(
                [waiting.id], timeout=240,
                until=lambda run: run.state is not None and run.state.name == "Suspended",
            )
            assert wait_for_no_flow_run_process(waiting.id) == []  # suspended: the worker is free
            with credentials.get_client() as client:
                (paused,) = client.workflows.list_runs(flow_id=flow_id).data
                assert paused.status == "PAUSED"
                reply = approve_when_paused(client, flow_id, {"approved": True})  # the person approves
            assert reply.body == {"approved": True, "invoice": ""}  # wait_on_imbrace sends {"index": 1}

            (done,) = prefect_server.wait_for_flow_runs([waiting.id], timeout=400, poll=2)
            assert done.state.is_completed(), done.state
            with prefect_server.settings():
                result = done.state.result()
            assert result["run_id"] == paused.id  # adopted, never triggered twice
            assert result["payload"] == {"approved": True, "invoice": ""}
            assert engine.control.counters()["runs_per_flow"][flow_id] == 1
        finally:
            worker.stop()
