"""Deferred waits beyond one task: a fan-out, `ImbraceFlowRun`, a Prefect cancel, a failure.

Each of these needs a real server, a process worker and the resumer, and each waits about
half a minute on the engine, so the module starts all of them at once on one pool (one worker,
one resumer) and each test then checks its own flow run:

- a `trigger_many_and_wait` fan-out suspends once and, resumed, returns every result in order
  with one engine run per payload;
- `ImbraceFlow(...).trigger()` / `wait_for_completion()` with `defer_after_seconds` suspends
  and resumes, adopting its run;
- a suspended fan-out on PAUSED runs, cancelled the way `prefect flow-run cancel` does it: the
  resumer cancels its Imbrace runs and drops its note, tag and concurrency slots;
- an Imbrace run that FAILS while its flow run is suspended: the resumed wait raises what the
  blocking wait raises for the same Imbrace flow.

The credentials name a Prefect global concurrency limit, so the slots carried across the
suspensions are checked too: none is left held at the end.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from imbrace_flows import ImbraceFlows, running_delays
from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate
from prefect.states import Cancelled, State, StateType

from prefect_imbrace.client import operations as ops
from prefect_imbrace.credentials import ImbraceCredentials
from prefect_imbrace.exactly_once.deferral import DEFERRED_TAG, note_name
from prefect_imbrace.exactly_once.resumer import deploy_resumer
from prefect_imbrace.local import ImbraceLocal
from prefect_imbrace.testing_deployments import PrefectServer, WorkerProcess

from .conftest import FLOWS, save_block
from .deployed_flows import error_of_wait

POLL_INTERVAL = 5.0
RUN_S = 25
"""Each Imbrace run lasts this long (RUNNING): well past `defer_after`."""
WAIT = {"defer_after": 5, "timeout": 900}
SLOTS = 10


@dataclass
class Scenarios:
    server: PrefectServer
    credentials: ImbraceCredentials
    block: str
    limit: str
    flow_ids: dict[str, str]
    flow_runs: dict[str, Any]
    worker: WorkerProcess
    done: dict[str, Any] = field(default_factory=dict)

    def final(self, name: str, timeout: float = 420) -> Any:
        """The scenario's flow run once it is final (read once, then kept)."""
        if name not in self.done:
            (self.done[name],) = self.server.wait_for_flow_runs(
                [self.flow_runs[name].id], timeout=timeout, poll=2
            )
        return self.done[name]

    def result(self, name: str) -> Any:
        flow_run = self.final(name)
        assert flow_run.state.is_completed(), (flow_run.state, self.worker.log()[-3000:])
        with self.server.settings():
            return flow_run.state.result()

    def state_names(self, name: str) -> list[str]:
        with self.server.client() as client:
            states = client.read_flow_run_states(self.flow_runs[name].id)
        return [s.name for s in sorted(states, key=lambda s: s.timestamp)]

    def engine_runs(self, name: str) -> list[Any]:
        with self.credentials.get_client() as client:
            return [client.workflows.get_run(run_id=run.id)
                    for run in client.workflows.iter_runs(flow_id=self.flow_ids[name])]


def _is_suspended(flow_run: Any) -> bool:
    return flow_run.state is not None and flow_run.state.name == "Suspended"


@pytest.fixture(scope="module")
def scenarios(prefect_server: PrefectServer, local_engine: ImbraceLocal) -> Iterator[Scenarios]:
    local_engine.control.reset()
    credentials = ImbraceCredentials(api_key=local_engine.api_key, gateway=local_engine.url, timeout=15)
    suffix = uuid.uuid4().hex[:6]
    limit = f"variants-runs-{suffix}"
    with prefect_server.client() as client:
        client.create_global_concurrency_limit(GlobalConcurrencyLimitCreate(name=limit, limit=SLOTS))
    with credentials.get_client() as client:
        flows = ImbraceFlows(client)
        flow_ids = {
            "fan_out": flows.long(RUN_S, "Fan-out member"),
            "job": flows.long(RUN_S, "ImbraceFlow job"),
            "cancel": flows.paused("Cancelled while suspended"),
            "fails": flows.publish("Fails while suspended", [
                *running_delays(RUN_S), ops.code("step_2", "export const code = async () => 1"),
            ]),
        }
    block = save_block(prefect_server, credentials.model_copy(update={"concurrency_limit": limit}),
                       f"variants-{suffix}")
    pool = f"variants-{suffix}"
    prefect_server.create_pool(pool)
    deployments = {
        name: prefect_server.deploy(f"{FLOWS}:{name}", name=f"variants-{name}", pool=pool)
        for name in ("fan_out_on_imbrace", "imbrace_flow_job", "error_of_wait")
    }
    with prefect_server.settings():
        resumer_id = deploy_resumer(block, pool, poll_interval=POLL_INTERVAL, run_for=900,
                                    job_variables=prefect_server.job_variables())
    # four flow runs and the resumer at once
    (worker,) = prefect_server.start_workers(pool, count=1, limit=5)
    run = prefect_server.run_deployment
    flow_runs = {
        "fan_out": run(deployments["fan_out_on_imbrace"], parameters={
            "block": block, "flow_id": flow_ids["fan_out"], "count": 3, "wait": WAIT}),
        "job": run(deployments["imbrace_flow_job"], parameters={
            "block": block, "flow_id": flow_ids["job"], "defer_after": WAIT["defer_after"],
            "timeout": WAIT["timeout"]}),
        "cancel": run(deployments["fan_out_on_imbrace"], parameters={
            "block": block, "flow_id": flow_ids["cancel"], "count": 2, "wait": WAIT}),
        "fails": run(deployments["error_of_wait"], parameters={
            "block": block, "flow_id": flow_ids["fails"], "wait": WAIT}),
    }
    try:
        yield Scenarios(prefect_server, credentials, block, limit, flow_ids, flow_runs, worker)
    finally:
        worker.stop()
        with prefect_server.client() as client:  # the resumer's runs (and any left over) end here
            ours = {str(r.id) for r in flow_runs.values()}
            for flow_run in client.read_flow_runs():
                if (str(flow_run.deployment_id) == str(resumer_id) or str(flow_run.id) in ours) \
                        and not flow_run.state.is_final():
                    client.set_flow_run_state(flow_run.id, Cancelled(), force=True)


def test_a_fan_out_suspends_once_and_returns_every_result(scenarios: Scenarios) -> None:
    results = scenarios.result("fan_out")
    assert scenarios.state_names("fan_out").count("Suspended") == 1
    assert [str(r["payload"]["n"]) for r in results] == ["0", "1", "2"]  # in payload order
    engine_runs = scenarios.engine_runs("fan_out")
    assert len(engine_runs) == 3  # one engine run per payload: adopted on resume, not re-sent
    assert {r["run_id"] for r in results} == {run.id for run in engine_runs}
    assert {run.status for run in engine_runs} == {"SUCCEEDED"}


def test_an_imbrace_flow_run_defers_and_resumes(scenarios: Scenarios) -> None:
    result = scenarios.result("job")
    assert "Suspended" in scenarios.state_names("job")
    (engine_run,) = scenarios.engine_runs("job")
    assert result["run_id"] == engine_run.id and engine_run.status == "SUCCEEDED"
    assert str(result["payload"]["n"]) == "job"
    assert result["adopted"] is True  # the resumed execution adopted the first one's trigger


def test_cancelling_a_suspended_flow_run_cancels_its_paused_imbrace_runs(scenarios: Scenarios) -> None:
    server = scenarios.server
    flow_run_id = scenarios.flow_runs["cancel"].id
    server.wait_for_flow_runs([flow_run_id], timeout=300, until=_is_suspended)
    assert sorted(run.status for run in scenarios.engine_runs("cancel")) == ["PAUSED", "PAUSED"]

    with server.client() as client:  # what `prefect flow-run cancel` does
        client.set_flow_run_state(flow_run_id, State(type=StateType.CANCELLING))
    cancelled = scenarios.final("cancel", timeout=120)
    assert cancelled.state.is_cancelled(), cancelled.state

    deadline = time.monotonic() + 4 * POLL_INTERVAL + 30
    while {run.status for run in scenarios.engine_runs("cancel")} != {"CANCELED"}:
        assert time.monotonic() < deadline, [run.status for run in scenarios.engine_runs("cancel")]
        time.sleep(1)
    with server.client() as client:  # the resumer dropped the note and the tag
        deadline = time.monotonic() + 2 * POLL_INTERVAL + 30
        while DEFERRED_TAG in (client.read_flow_run(flow_run_id).tags or []):
            assert time.monotonic() < deadline
            time.sleep(1)
        assert client.read_variable_by_name(note_name(flow_run_id)) is None


def test_a_run_failing_while_suspended_raises_what_the_blocking_wait_raises(
    scenarios: Scenarios,
) -> None:
    server = scenarios.server
    # the blocking wait, in this process (no deployment: it cannot defer), same Imbrace flow
    with server.settings():
        blocking = error_of_wait(scenarios.block, scenarios.flow_ids["fails"], {"timeout": 900})
    deferred = scenarios.result("fails")
    assert "Suspended" in scenarios.state_names("fails")
    assert deferred["type"] == blocking["type"] == "ImbraceRunFailed"
    for name in ("status", "failed_step", "error_message"):
        assert deferred[name] == blocking[name], name
    assert deferred["message"].replace(deferred["run_id"], "<run>") == \
        blocking["message"].replace(blocking["run_id"], "<run>")
    engine_runs = scenarios.engine_runs("fails")
    assert len(engine_runs) == 2  # one per flow run: the resumed wait adopted its run
    assert {run.status for run in engine_runs} == {"FAILED"}
    assert deferred["run_id"] in {run.id for run in engine_runs}


def test_no_slot_note_or_tag_is_left_behind(scenarios: Scenarios) -> None:
    for name in scenarios.flow_runs:
        scenarios.final(name)
    ids = [flow_run.id for flow_run in scenarios.flow_runs.values()]
    deadline = time.monotonic() + 2 * POLL_INTERVAL + 30
    with scenarios.server.client() as client:
        while True:
            tagged = [i for i in ids if DEFERRED_TAG in (client.read_flow_run(i).tags or [])]
            notes = [i for i in ids if client.read_variable_by_name(note_name(i)) is not None]
            slots = client.read_global_concurrency_limit_by_name(scenarios.limit).active_slots
            if not tagged and not notes and slots == 0:
                break
            assert time.monotonic() < deadline, (tagged, notes, slots)
            time.sleep(1)
