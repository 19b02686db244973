"""A deployed fan-out, both ways, with lost answers: one engine run per payload, none lost.

Two flow runs of one process worker at once: one `trigger_many_and_wait` over COUNT payloads
and one flow that maps COUNT `trigger_flow_and_wait` task runs. The engine drops its answer to
LOST of the triggers after it made their runs, so those triggers are sent again and must adopt
the run they already made (their record lives in the Prefect server). Each Imbrace run echoes
its payload, so every result is checked against the payload it was triggered with.

On both stacks (`on_both_stacks`): the SQLite server, and the scaled stack where the records
are written through two API workers into PostgreSQL.
"""

from __future__ import annotations

import uuid
from typing import Any

from prefect_imbrace.client import create_webhook_flow
from prefect_imbrace.client import operations as ops
from prefect_imbrace.credentials import ImbraceCredentials
from prefect_imbrace.local import ImbraceLocal
from prefect_imbrace.testing_deployments import PrefectServer
from prefect_imbrace.testing_stack import on_both_stacks

from .conftest import FLOWS, save_block

COUNT = 40
"""Payloads per fan-out."""
LOST = 10
"""Triggers whose answer the engine drops after it made the run (shared by both fan-outs)."""
RUN_S = 2


@on_both_stacks
def test_a_deployed_fan_out_makes_one_engine_run_per_payload_through_lost_answers(
    prefect_server: PrefectServer, engine: ImbraceLocal, credentials: ImbraceCredentials
) -> None:
    suffix = uuid.uuid4().hex[:6]
    with credentials.get_client() as client:
        flow_ids = {
            name: create_webhook_flow(client, f"Echo {name}", [
                ops.delay("step_1", RUN_S),
                ops.return_response("step_2", body={"echo": "{{trigger.body}}"}),
            ]).id
            for name in ("many", "tasks")
        }
    block = save_block(prefect_server, credentials, f"fan-out-{suffix}")
    pool = f"fan-out-{suffix}"
    prefect_server.create_pool(pool)
    deployments = {
        "many": prefect_server.deploy(f"{FLOWS}:fan_out_on_imbrace", name="many", pool=pool),
        "tasks": prefect_server.deploy(f"{FLOWS}:tasks_on_imbrace", name="tasks", pool=pool),
    }
    engine.control.add_fault(path=r"/activepieces/v1/webhooks/", method="POST",
                             lost_response=True, times=LOST)
    (worker,) = prefect_server.start_workers(pool, count=1, limit=2)
    try:
        flow_runs = {
            name: prefect_server.run_deployment(
                deployment_id,
                parameters={"block": block, "flow_id": flow_ids[name], "count": COUNT},
            )
            for name, deployment_id in deployments.items()
        }
        done = prefect_server.wait_for_flow_runs([r.id for r in flow_runs.values()], timeout=600, poll=2)
    finally:
        worker.stop()

    for flow_run in done:
        assert flow_run.state.is_completed(), (flow_run.state, worker.log()[-3000:])
    counters = engine.control.counters()
    assert counters["faults_fired"] == LOST  # every lost answer happened
    with prefect_server.settings():
        results: dict[str, list[dict[str, Any]]] = {
            name: next(r for r in done if r.id == flow_run.id).state.result()
            for name, flow_run in flow_runs.items()
        }
    for name, flow_id in flow_ids.items():
        assert_exactly_once(credentials, counters, flow_id, results[name])
    print(f"fan-out on {type(prefect_server).__name__}: {COUNT} + {COUNT} payloads, "
          f"{LOST} lost answers, engine requests {sum(counters['requests'].values())}")


def assert_exactly_once(credentials: ImbraceCredentials, counters: dict[str, Any], flow_id: str,
                        results: list[dict[str, Any]]) -> None:
    """COUNT results in payload order, each its own engine run, every engine run returned."""
    assert [r["payload"] for r in results] == [{"echo": {"n": i}} for i in range(COUNT)]
    run_ids = [r["run_id"] for r in results]
    assert len(set(run_ids)) == COUNT  # no two payloads share a run
    assert counters["runs_per_flow"][flow_id] == COUNT  # 0 duplicates
    with credentials.get_client() as client:
        engine_runs = {run.id: run.status for run in client.workflows.iter_runs(flow_id=flow_id)}
    assert set(engine_runs) == set(run_ids)  # 0 lost: every engine run belongs to a payload
    assert set(engine_runs.values()) == {"SUCCEEDED"}
