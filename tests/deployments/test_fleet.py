"""Three process workers, 60 flow runs, one Imbrace flow: limits shared by every process.

Each flow run is its own process; the credentials block names a Prefect global concurrency
limit of 8 (one slot per Imbrace run in flight) and a rate limit of 20 requests/s. What the
engine saw (Imbrace Local's counters) proves both held across processes.
"""

from __future__ import annotations

import uuid

from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate

from prefect_imbrace.client import create_webhook_flow
from prefect_imbrace.client import operations as ops
from prefect_imbrace.credentials import ImbraceCredentials
from prefect_imbrace.local import ImbraceLocal
from prefect_imbrace.testing_deployments import PrefectServer

from .conftest import FLOWS, save_block

FLOW_RUNS = 60
IN_FLIGHT_LIMIT = 8
RATE = 20


def test_sixty_flow_runs_on_three_workers_share_the_limits(
    prefect_server: PrefectServer, engine: ImbraceLocal, credentials: ImbraceCredentials
) -> None:
    suffix = uuid.uuid4().hex[:6]
    in_flight, rate = f"imbrace-runs-{suffix}", f"imbrace-requests-{suffix}"
    with prefect_server.client() as client:
        client.create_global_concurrency_limit(
            GlobalConcurrencyLimitCreate(name=in_flight, limit=IN_FLIGHT_LIMIT)
        )
        # one slot, decaying at 20/s: at most 1 + 20 requests in any one second
        client.create_global_concurrency_limit(
            GlobalConcurrencyLimitCreate(name=rate, limit=1, slot_decay_per_second=RATE)
        )
    with credentials.get_client() as client:
        flow_id = create_webhook_flow(
            client, "Fleet", [ops.delay("step_1", 1), ops.return_response("step_2", body={"ok": True})]
        ).id
    block = save_block(
        prefect_server,
        credentials.model_copy(update={"concurrency_limit": in_flight, "rate_limit": rate}),
        f"fleet-{suffix}",
    )
    pool = f"fleet-{suffix}"
    prefect_server.create_pool(pool, paused=True)  # create every run first, then let them go
    deployment_id = prefect_server.deploy(f"{FLOWS}:wait_on_imbrace", name="fleet", pool=pool)
    flow_runs = [
        prefect_server.run_deployment(
            deployment_id, parameters={"block": block, "flow_id": flow_id, "index": i}
        )
        for i in range(FLOW_RUNS)
    ]
    workers = prefect_server.start_workers(pool, count=3, limit=3)  # 9 at once: above the limit of 8
    prefect_server.set_pool_paused(pool, False)
    try:
        done = prefect_server.wait_for_flow_runs([r.id for r in flow_runs], timeout=1500, poll=3)
    finally:
        for worker in workers:
            worker.stop()

    states = [r.state.name for r in done]
    assert states == ["Completed"] * FLOW_RUNS, {s: states.count(s) for s in set(states)}
    with prefect_server.settings():
        results = [r.state.result() for r in done]
    counters = engine.control.counters()
    run_ids = {r["run_id"] for r in results}
    assert counters["runs_per_flow"][flow_id] == FLOW_RUNS  # 60 engine runs
    assert len(run_ids) == FLOW_RUNS  # 0 duplicates: each flow run has its own run
    with credentials.get_client() as client:
        engine_runs = {run.id: run for run in client.workflows.iter_runs(flow_id=flow_id)}
    assert set(engine_runs) == run_ids  # 0 lost: every engine run belongs to a flow run
    assert all(run.status == "SUCCEEDED" for run in engine_runs.values())
    assert {r["payload"]["ok"] for r in results} == {True}
    assert counters["running_high_water"] <= IN_FLIGHT_LIMIT, counters["running_high_water"]
    assert counters["requests_per_second_peak"] <= RATE + 2, counters["requests_per_second_peak"]
    with prefect_server.client() as client:
        assert client.read_global_concurrency_limit_by_name(in_flight).active_slots == 0
    print(
        f"fleet: high water {counters['running_high_water']}, peak {counters['requests_per_second_peak']}"
        f" req/s, engine requests {sum(counters['requests'].values())}"
    )
