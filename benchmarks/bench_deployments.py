"""Deployed Prefect on a real server with process workers: deferred waits and the 60-run fleet.

- `deferred_wait`: worker-seconds held by one flow run waiting on a 2-minute Imbrace run
  (a delay that PAUSES it), with `defer_after=5` vs the blocking wait, both in the same run.
  Worker-seconds are the time the flow run had infrastructure: from each `Pending` (the worker
  submitted it) to the next `Suspended` or final state, summed.
- `fleet_60`: wall time of the fleet test's case (tests/deployments/test_fleet.py): 60 flow
  runs of one deployment on 3 process workers (4 flow runs each at once), each triggering and
  waiting on one Imbrace run of FLEET_RUN_S seconds, with the shared limits (8 runs in flight,
  20 requests/s); baseline: `fleet_60[floor]`, the same 60 deployment flow runs on the same
  workers that only hold a slot of the same in-flight limit for FLEET_RUN_S seconds (Prefect's
  own part: a process, imports and states per flow run). Both take at least
  60 * FLEET_RUN_S / 8 seconds.
- `fleet_60[one process]`: the same 60 waits in one process (`trigger_many_and_wait`, same
  credentials and limits); `fleet_60_requests`: the fleet's engine requests against that
  process's.

Costs minutes (a server start, a 2-minute wait, 180 Python processes): full runs only; `--quick`
skips it unless `--size` asks for toy sizes. On a Prefect API other than the default (a SQLite
server started here), names carry the target's suffix (`fleet_60@scaled`).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from benchmarks._common import HARNESS, Metric, PrefectTarget, classify_requests

HERE = Path(__file__).resolve().parent
FLOWS = HERE / "_deployed_flows.py"
FLEET_RUN_S = 5
"""The fleet case of tests/deployments/test_fleet.py: 5 s Imbrace runs, 3 workers x 4 (without
the test's start gate: here the flow runs go as soon as their process is up)."""
FLEET_WORKERS, FLEET_PER_WORKER = 3, 4
FLEET_GOAL = 1.3
"""fleet_60 against fleet_60[floor] (issue 21)."""


def _held_seconds(states: list[Any]) -> float:
    """Seconds between each Pending state and the next Suspended or final state."""
    held, since = 0.0, None
    for state in sorted(states, key=lambda s: s.timestamp):
        if state.type.value == "PENDING" and since is None:
            since = state.timestamp
        elif since is not None and (state.name == "Suspended" or state.is_final()):
            held += (state.timestamp - since).total_seconds()
            since = None
    return held


def deferred_wait(server: Any, engine: Any, credentials: Any) -> Metric:
    from prefect.states import Cancelled

    from prefect_imbrace.client import create_webhook_flow
    from prefect_imbrace.client import operations as ops
    from prefect_imbrace.exactly_once.resumer import deploy_resumer

    suffix = uuid.uuid4().hex[:6]
    with credentials.get_client() as client:
        flow_id = create_webhook_flow(client, "Bench two minutes", [
            ops.delay("step_1", 2, unit="minutes"), ops.return_response("step_2", body={"ok": True}),
        ]).id
    block = f"bench-deferred-{suffix}"
    with server.settings():
        credentials.save(block, overwrite=True)
    pool = f"bench-deferred-{suffix}"
    server.create_pool(pool)
    deployment_id = server.deploy(f"{FLOWS}:wait_on_imbrace", name="bench-deferred", pool=pool)
    with server.settings():
        resumer_id = deploy_resumer(block, pool, poll_interval=5, run_for=900,
                                    job_variables=server.job_variables())
    workers = server.start_workers(pool, count=1, limit=4)
    try:
        params = {"block": block, "flow_id": flow_id}
        deferred = server.run_deployment(
            deployment_id, parameters={**params, "index": 1, "wait": {"defer_after": 5, "timeout": 900}})
        blocking = server.run_deployment(
            deployment_id, parameters={**params, "index": 2, "wait": {"timeout": 900}})
        done = server.wait_for_flow_runs([deferred.id, blocking.id], timeout=600, poll=2)
        assert all(run.state.is_completed() for run in done), [run.state for run in done]
        with server.client() as client:
            held = [_held_seconds(client.read_flow_run_states(run.id)) for run in done]
            for flow_run in client.read_flow_runs():
                if str(flow_run.deployment_id) == str(resumer_id) and not flow_run.state.is_final():
                    client.set_flow_run_state(flow_run.id, Cancelled(), force=True)
    finally:
        for worker in workers:
            worker.stop()
    return Metric(
        name="deferred_wait", value=round(held[0], 1), unit="worker-s per 2-min Imbrace run",
        baseline=round(held[1], 1), ratio=round(held[0] / held[1], 3),
        goal="deferred holds the worker for a small fraction of the blocking wait",
        met=held[0] < 0.25 * held[1],
        notes="Pending -> Suspended/final, summed; deferred = first execution + re-execution",
    )


def fleet_60(server: Any, engine: Any, credentials: Any, runs: int = 60, suffix: str = "") -> list[Metric]:
    from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate

    from prefect_imbrace.client import create_webhook_flow
    from prefect_imbrace.client import operations as ops

    suffix_id = uuid.uuid4().hex[:6]
    in_flight, rate = f"bench-runs-{suffix_id}", f"bench-requests-{suffix_id}"
    with server.client() as client:
        client.create_global_concurrency_limit(GlobalConcurrencyLimitCreate(name=in_flight, limit=8))
        client.create_global_concurrency_limit(
            GlobalConcurrencyLimitCreate(name=rate, limit=1, slot_decay_per_second=20))
    limited = credentials.model_copy(update={"concurrency_limit": in_flight, "rate_limit": rate})

    def new_flow() -> str:
        """Counters restart (a reset also drops the engine's flows), then the Imbrace flow."""
        engine.control.reset()
        with credentials.get_client() as client:
            return create_webhook_flow(client, "Bench fleet", [
                ops.delay("step_1", FLEET_RUN_S), ops.return_response("step_2", body={"ok": True})]).id

    block = f"bench-fleet-{suffix_id}"
    with server.settings():
        limited.save(block, overwrite=True)

    # one process (started like a flow-run process, with the server's environment), the same
    # 60 waits with `trigger_many_and_wait`, the same credentials and limits
    flow_id = new_flow()
    started = time.perf_counter()
    subprocess.run([sys.executable, str(FLOWS), block, flow_id, str(runs)], env=server.env,
                   cwd=HERE, check=True, capture_output=True, text=True, timeout=1800)
    single_s = time.perf_counter() - started
    single = engine.control.counters()

    # the floor: the same deployment flow runs on the same workers, holding a slot and sleeping
    floor_s, floor_done = _fleet(server, f"floor-{suffix_id}", "sleep_like_imbrace", [
        {"seconds": FLEET_RUN_S, "limit": in_flight, "index": i} for i in range(runs)])
    flow_id = new_flow()
    resubmitted = server.resubmitted
    fleet_s, done = _fleet(server, f"fleet-{suffix_id}", "wait_on_imbrace", [
        {"block": block, "flow_id": flow_id, "index": i} for i in range(runs)])
    fleet = engine.control.counters()
    completed = sum(run.state.is_completed() for run in done)
    fleet_requests = classify_requests(fleet["requests"])
    single_requests = classify_requests(single["requests"])
    name = f"fleet_{runs}"
    same = f"{runs} flow runs, {FLEET_WORKERS} workers x {FLEET_PER_WORKER}"
    return [
        Metric(
            name=name + suffix, value=round(fleet_s, 1), unit=f"s wall ({same})",
            baseline=round(floor_s, 1), ratio=round(fleet_s / floor_s, 2),
            goal=f"ratio <= {FLEET_GOAL}", met=fleet_s / floor_s <= FLEET_GOAL,
            notes=(f"baseline [floor]: the same deployment flow runs holding a slot for {FLEET_RUN_S} s; "
                   f"limits: 8 runs in flight, 20 requests/s; {FLEET_RUN_S} s Imbrace runs; "
                   f"at least {runs} * {FLEET_RUN_S} / 8 = {runs * FLEET_RUN_S / 8:.0f} s"),
            details={
                "completed": completed,
                "floor_completed": sum(run.state.is_completed() for run in floor_done),
                "resubmitted": server.resubmitted - resubmitted,
                "load_average_end": os.getloadavg()[0],
                "fleet_requests": fleet_requests,
                "one_process_requests": single_requests,
                "fleet_running_high_water": fleet["running_high_water"],
                "fleet_requests_per_second_peak": fleet["requests_per_second_peak"],
                "one_process_running_high_water": single["running_high_water"],
                "one_process_requests_per_second_peak": single["requests_per_second_peak"],
            },
        ),
        Metric(name=f"{name}[floor]{suffix}", value=round(floor_s, 1), unit=f"s wall ({same})",
               goal="report", notes="deployment flow runs that only hold a slot of the in-flight limit "
                                    f"and sleep {FLEET_RUN_S} s: Prefect's own part of the fleet"),
        Metric(name=f"{name}[one process]{suffix}", value=round(single_s, 1), unit="s wall",
               goal="report", notes=f"the same {runs} waits in one process (trigger_many_and_wait)"),
        Metric(name=f"{name}_requests{suffix}", value=fleet_requests["total"], unit="engine requests",
               baseline=single_requests["total"],
               ratio=round(fleet_requests["total"] / max(single_requests["total"], 1), 2), goal="report",
               notes="Imbrace Local's counts: the fleet vs the same waits in one process",
               details={"fleet": fleet_requests, "one_process": single_requests}),
    ]


def _fleet(server: Any, name: str, flow: str, parameters: list[dict[str, Any]]) -> tuple[float, list[Any]]:
    """One flow run per `parameters` of `flow` (benchmarks/_deployed_flows.py), created on a
    paused pool; then the workers start and the pool resumes. (Wall until all final, the runs.)"""
    pool = f"bench-{name}"
    server.create_pool(pool, paused=True)
    deployment_id = server.deploy(f"{FLOWS}:{flow}", name=f"bench-{name}", pool=pool)
    flow_runs = [server.run_deployment(deployment_id, parameters=p) for p in parameters]
    workers = server.start_workers(pool, count=FLEET_WORKERS, limit=FLEET_PER_WORKER)
    try:
        started = time.perf_counter()
        server.set_pool_paused(pool, False)
        done = server.wait_for_flow_runs([r.id for r in flow_runs], timeout=1800, poll=2)
        return time.perf_counter() - started, done
    finally:
        for worker in workers:
            worker.stop()


def run(quick: bool, smoke: bool = False, *, targets: tuple[PrefectTarget, ...] = (HARNESS,),
        size: int | None = None) -> list[Metric]:
    """Full runs only (a real Prefect server and 180 processes), or toy sizes with `size`.

    Each target is one Prefect API: the default starts a SQLite `prefect server start`; the
    scaled stack's target carries its server; any other URL is attached to.
    """
    if (quick or smoke) and size is None:
        return []
    from prefect_imbrace.credentials import ImbraceCredentials
    from prefect_imbrace.local import ImbraceLocal
    from prefect_imbrace.testing_deployments import start_prefect_server
    from prefect_imbrace.testing_stack import attach_prefect_server

    metrics: list[Metric] = []
    with ImbraceLocal() as engine:
        credentials = ImbraceCredentials(api_key=engine.api_key, gateway=engine.url, timeout=15)
        for target in targets:
            if target.server is not None:
                server, owned = target.server, False
            elif target.api_url:
                server, owned = attach_prefect_server(target.api_url), True
            else:
                server, owned = start_prefect_server(), True
            try:
                deferred = deferred_wait(server, engine, credentials)
                deferred.name += target.suffix
                metrics.append(deferred)
                metrics += fleet_60(server, engine, credentials, runs=size or 60, suffix=target.suffix)
            finally:
                if owned:
                    server.stop()
                    shutil.rmtree(server.home, ignore_errors=True)
                else:
                    server.stop_workers()
    return metrics
