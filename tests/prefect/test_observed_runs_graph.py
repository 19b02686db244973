"""`observe_imbrace_runs(reflect_runs=True)`: runs started outside Prefect as Prefect flow runs.

Runs are started with the client (as a schedule or another system would), then the observer
flow writes each ended one as a flow run of a Prefect flow named after its Imbrace flow, with
its steps as task runs; read back through the Prefect API.
"""

from __future__ import annotations

import time
from typing import Any

from prefect import flow
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    FlowFilter,
    FlowFilterName,
    FlowRunFilter,
    FlowRunFilterName,
)
from steps_helpers import THREE_STEP_NAMES, by_name, logs_of, parent_ids, task_runs_of, three_steps

from prefect_imbrace import tasks as t
from prefect_imbrace.client import ImbraceClient
from prefect_imbrace.credentials import ImbraceCredentials
from prefect_imbrace.flows import observe_imbrace_runs
from prefect_imbrace.local import ImbraceLocal
from prefect_imbrace.observed_runs import areflect_observed_runs, prefect_flow_name


def started_outside_prefect(client: ImbraceClient, flow_id: str, payload: Any, timeout: float = 60) -> str:
    """One run started through the webhook (no prefect-imbrace key), once it has ended."""
    client.workflows.trigger_flow(flow_id=flow_id, payload=payload)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runs = client.workflows.list_runs(flow_id=flow_id).data
        if runs and all(run.is_terminal for run in runs):
            return runs[0].id
        time.sleep(0.2)
    raise TimeoutError(f"no ended run of {flow_id}")


async def flow_runs_named(names: list[str]) -> list[Any]:
    async with get_client() as client:
        return await client.read_flow_runs(flow_run_filter=FlowRunFilter(name=FlowRunFilterName(any_=names)))


async def test_observed_runs_become_flow_runs_with_their_steps(
    creds: ImbraceCredentials, flows: Any, engine: ImbraceLocal,
) -> None:
    failing, succeeding = three_steps(flows.client, fail=True), three_steps(flows.client, fail=False)
    failed_id = started_outside_prefect(flows.client, failing, {"to": "c@example.com"})
    ok_id = started_outside_prefect(flows.client, succeeding, {"url": f"{engine.url}/_local/ui"})

    @flow(name="steps-prefect-started")
    def prefect_started() -> str:
        return t.trigger_flow_and_wait(creds, succeeding, {"url": f"{engine.url}/_local/ui"}).run_id

    ours = prefect_started()
    name = "imbrace-observer-steps"
    observe_imbrace_runs(creds, flow_ids=[failing, succeeding], variable_name=name, reflect_runs=True)

    written = {r.name: r for r in await flow_runs_named(
        [f"imbrace-run-{failed_id}", f"imbrace-run-{ok_id}", f"imbrace-run-{ours}"])}
    assert sorted(written) == sorted([f"imbrace-run-{failed_id}", f"imbrace-run-{ok_id}"])  # not ours
    failed, ok = written[f"imbrace-run-{failed_id}"], written[f"imbrace-run-{ok_id}"]
    assert failed.state_type.value == "FAILED" and ok.state_type.value == "COMPLETED"
    with creds.get_client() as client:
        run = client.workflows.get_run(run_id=failed_id)
    assert failed.state.message == f"Imbrace run {failed_id}: FAILED at step step_2: {run.error_message}"
    assert failed.expected_start_time == run.start_time  # the Runs page orders by the real start
    async with get_client() as client:
        prefect_flow = await client.read_flow(failed.flow_id)
    assert prefect_flow.name == prefect_flow_name(failing, "Three steps, failing")
    assert prefect_flow.name == f"Imbrace · Three steps, failing · {failing}"

    steps = by_name(await task_runs_of(failed.id, 3))
    assert sorted(steps) == sorted(THREE_STEP_NAMES[:3])
    assert [steps[n].state_type.value for n in THREE_STEP_NAMES[:3]] == ["COMPLETED", "COMPLETED", "FAILED"]
    assert steps["step_2 · Send email"].state.message == run.error_message
    assert all(parent_ids(s) == [] for s in steps.values())  # the flow run is the Imbrace run
    assert steps["trigger · Catch Webhook"].start_time == run.start_time
    assert f"Error: {run.error_message}" in (await logs_of(steps["step_2 · Send email"].id))[0]
    ok_steps = await task_runs_of(ok.id, 4)
    assert sorted(s.name for s in ok_steps) == sorted(THREE_STEP_NAMES)
    assert {s.state_type.value for s in ok_steps} == {"COMPLETED"}

    # observed again (a cursor lost, or runs still in the window): nothing is written twice
    observe_imbrace_runs(creds, flow_ids=[failing, succeeding], variable_name=name + "-2",
                         reflect_runs=True)
    again = await flow_runs_named([f"imbrace-run-{failed_id}", f"imbrace-run-{ok_id}"])
    assert len(again) == 2
    assert len(await task_runs_of(failed.id, 3)) == 3


async def test_observing_without_reflect_runs_writes_no_flow_run(creds: ImbraceCredentials, flows: Any) -> None:
    flow_id = three_steps(flows.client, fail=True, name="Observed only")
    run_id = started_outside_prefect(flows.client, flow_id, {})
    observe_imbrace_runs(creds, flow_ids=[flow_id], variable_name="imbrace-observer-plain")
    assert await flow_runs_named([f"imbrace-run-{run_id}"]) == []
    async with get_client() as client:
        assert await client.read_flows(flow_filter=FlowFilter(
            name=FlowFilterName(any_=[prefect_flow_name(flow_id, "Observed only")]))) == []


async def test_a_run_that_cannot_be_written_is_reported_and_the_others_still_are(
    creds: ImbraceCredentials, flows: Any,
) -> None:
    flow_id = three_steps(flows.client, fail=True, name="One of two")
    run_id = started_outside_prefect(flows.client, flow_id, {})
    missing = "N0such" + "r" * 15  # the engine answers 400 FLOW_RUN_NOT_FOUND
    written, failed = await areflect_observed_runs(creds, [missing, run_id])
    assert (written, failed) == (1, [missing])  # logged; the observer keeps it for its next pass
    assert [r.name for r in await flow_runs_named([f"imbrace-run-{run_id}"])] == [f"imbrace-run-{run_id}"]
