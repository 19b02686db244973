"""Three process workers, 60 flow runs, one Imbrace flow: limits shared by every process.

Each flow run is its own process; the credentials block names a Prefect global concurrency
limit of 8 (one slot per Imbrace run in flight) and a rate limit of 20 requests/s. What the
engine saw (Imbrace Local's counters) proves both held across processes.

The limit must bind, not merely hold. Started one by one, flow-run processes reach their
trigger seconds apart (each start costs ~4 s of CPU on 2 cores), so they never wanted 8 runs
at once (measured: high water 2 with 1 s runs and 9 flow runs at once; 6 with 15 s runs and
12 at once on a loaded machine). So the workers take 12 flow runs at once and those wait at a
start gate (a Prefect Variable) until all 12 are running, then trigger together, as runs
scheduled for the same minute would: 12 want a run in flight, the limit lets 8 through.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from imbrace_flows import running_delays
from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate

from prefect_imbrace.client import create_webhook_flow
from prefect_imbrace.client import operations as ops
from prefect_imbrace.credentials import ImbraceCredentials
from prefect_imbrace.local import ImbraceLocal
from prefect_imbrace.testing_deployments import PrefectServer
from prefect_imbrace.testing_stack import on_both_stacks

from .conftest import FLOWS, save_block

FLOW_RUNS = 60
IN_FLIGHT_LIMIT = 8
RATE = 20
WORKERS, PER_WORKER = 3, 4
"""12 flow runs at once: more than the limit, all wanting a run in flight at the gate."""
RUN_S = 15
"""Each Imbrace run's length (a delay, RUNNING): the 12 that pass the gate within about a second
all want a run in flight while the first 8 still run (with 5 s runs the triggers, spread by the
20 requests/s limit and slot acquisition, reached a high water of 6 in one CI rehearsal)."""


@on_both_stacks
def test_sixty_flow_runs_on_three_workers_share_the_limits(
    prefect_server: PrefectServer, engine: ImbraceLocal, credentials: ImbraceCredentials
) -> None:
    suffix = uuid.uuid4().hex[:6]
    in_flight, rate = f"imbrace-runs-{suffix}", f"imbrace-requests-{suffix}"
    gate = f"fleet-gate-{suffix}"
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
            client, "Fleet", [*running_delays(RUN_S), ops.return_response("step_2", body={"ok": True})]
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
            deployment_id,
            parameters={"block": block, "flow_id": flow_id, "index": i, "start_gate": gate},
        )
        for i in range(FLOW_RUNS)
    ]
    workers = prefect_server.start_workers(pool, count=WORKERS, limit=PER_WORKER)
    started = time.monotonic()
    prefect_server.set_pool_paused(pool, False)
    try:
        at_gate = open_the_gate_when_running(prefect_server, gate, flow_runs, WORKERS * PER_WORKER)
        done = prefect_server.wait_for_flow_runs([r.id for r in flow_runs], timeout=1500, poll=3)
        wall_s = time.monotonic() - started
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
    high_water = counters["running_high_water"]
    assert at_gate > IN_FLIGHT_LIMIT, at_gate  # without the limit: more than 8 in flight
    assert high_water <= IN_FLIGHT_LIMIT, high_water  # the limit held while more wanted a run
    assert counters["requests_per_second_peak"] <= RATE + 2, counters["requests_per_second_peak"]
    with prefect_server.client() as client:
        assert client.read_global_concurrency_limit_by_name(in_flight).active_slots == 0
    print(
        f"fleet: {wall_s:.0f}s, flow runs triggering together {at_gate}, engine high water "
        f"{high_water}, peak {counters['requests_per_second_peak']} req/s, engine requests "
        f"{sum(counters['requests'].values())}, resubmitted {prefect_server.resubmitted}"
    )


def open_the_gate_when_running(
    server: PrefectServer, gate: str, flow_runs: list[Any], wanted: int, timeout: float = 300
) -> int:
    """Set the start gate once `wanted` flow runs are Running; returns how many were."""
    from prefect.client.schemas.actions import VariableCreate

    ids = [r.id for r in flow_runs]
    deadline = time.monotonic() + timeout
    with server.client() as client:
        while True:
            running = sum(1 for i in ids if (state := client.read_flow_run(i).state) and state.is_running())
            if running >= wanted or time.monotonic() > deadline:
                client.create_variable(VariableCreate(name=gate, value=True))
                return running
            time.sleep(1)
