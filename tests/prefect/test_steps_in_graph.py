"""An ended Imbrace run's steps as task runs of the waiting Prefect flow run (run_graph.py).

Real Imbrace Local, real Prefect API (the session's test harness): a flow waits, then the task
runs Prefect recorded are read back through its API with their states, times, nesting and logs.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from prefect import flow
from prefect.events.clients import AssertingPassthroughEventsClient
from prefect.events.worker import EventsWorker
from steps_helpers import (
    THREE_STEP_NAMES,
    by_name,
    logs_of,
    many_steps,
    parent_ids,
    structured,
    task_runs_of,
    three_steps,
    waiting_task,
)

from prefect_imbrace import tasks as t
from prefect_imbrace.credentials import ImbraceCredentials
from prefect_imbrace.exceptions import ImbraceConfigurationError, ImbraceRunFailed
from prefect_imbrace.jobs import ImbraceFlow
from prefect_imbrace.local import ImbraceLocal
from prefect_imbrace.run_graph import steps_view


@pytest.fixture
def events(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Every event emitted in the test (still passed on to the test server)."""
    worker = EventsWorker.instance(AssertingPassthroughEventsClient)
    monkeypatch.setattr(EventsWorker, "instance", lambda *_: worker)
    yield worker
    worker.drain()


def step_events(events: Any) -> list[Any]:
    events.drain()
    return [e for e in events._client.events if e.event.startswith("prefect.task-run.")
            and any(r.role == "imbrace-run" for r in e.related)]


async def test_a_run_failing_at_step_2_shows_its_steps_under_the_waiting_task(
    creds: ImbraceCredentials, flows: Any,
) -> None:
    flow_id = three_steps(flows.client, fail=True)

    @flow(name="steps-failing")
    async def waits() -> None:
        await t.atrigger_flow_and_wait(creds, flow_id, {"to": "a@example.com"})

    state = await waits(return_state=True)
    error = await state.aresult(raise_on_failure=False)
    assert isinstance(error, ImbraceRunFailed) and error.failed_step == "step_2"
    runs = await task_runs_of(state.state_details.flow_run_id, 4)
    waiting = waiting_task(runs)
    steps = by_name([r for r in runs if r.id != waiting.id])
    assert sorted(steps) == sorted(THREE_STEP_NAMES[:3])  # step_3 never ran
    assert [steps[n].state_type.value for n in THREE_STEP_NAMES[:3]] == ["COMPLETED", "COMPLETED", "FAILED"]
    assert waiting.state_type.value == "FAILED"
    failed = steps["step_2 · Send email"]
    assert failed.state is not None and failed.state.message == error.error_message  # the engine's text
    assert all(parent_ids(run) == [waiting.id] for run in steps.values())
    assert failed.task_inputs["wait_for"][0].id == steps["step_1 · Map"].id  # type: ignore[union-attr]

    # times: the engine's start, then each step after the durations before it
    with creds.get_client() as client:
        run = client.workflows.get_run(run_id=error.run_id)
    assert steps["trigger · Catch Webhook"].start_time == run.start_time
    step_1_end = run.start_time + timedelta(milliseconds=run.steps["step_1"].duration or 0)
    assert abs((failed.start_time - step_1_end).total_seconds()) < 0.001
    assert abs((failed.end_time - failed.start_time).total_seconds() * 1000 - run.steps["step_2"].duration) < 1

    logs = await logs_of(failed.id)
    assert len(logs) == 1 and f"Error: {error.error_message}" in logs[0]
    assert "step_2 · Send email: FAILED after" in logs[0]
    mapped = await logs_of(steps["step_1 · Map"].id)
    assert '"to": "a@example.com"' in mapped[0]


async def test_a_successful_run_shows_every_step_completed_with_its_output(
    creds: ImbraceCredentials, flows: Any, engine: ImbraceLocal,
) -> None:
    flow_id = three_steps(flows.client, fail=False)

    @flow(name="steps-succeeding")
    def waits() -> Any:
        return t.trigger_flow_and_wait(creds, flow_id, {"to": "b@example.com", "url": f"{engine.url}/_local/ui"})

    state = waits(return_state=True)
    assert state.is_completed()
    runs = await task_runs_of(state.state_details.flow_run_id, 5)
    waiting = waiting_task(runs)
    steps = by_name([r for r in runs if r.id != waiting.id])
    assert sorted(steps) == sorted(THREE_STEP_NAMES)
    assert {run.state_type.value for run in steps.values()} == {"COMPLETED"}
    assert all(parent_ids(run) == [waiting.id] for run in steps.values())
    reply = await logs_of(steps["step_3 · Reply"].id)
    assert '"sent": true' in reply[0] and "Output:" in reply[0]


async def test_loops_nest_their_iterations_and_skipped_steps_show_as_skipped(
    creds: ImbraceCredentials, flows: Any,
) -> None:
    flow_id = structured(flows.client)

    @flow(name="steps-structured")
    async def waits() -> Any:
        return await t.atrigger_flow_and_wait(creds, flow_id, {"items": ["a", "b"], "n": 9})

    state = await waits(return_state=True)
    assert state.is_completed()
    runs = by_name(await task_runs_of(state.state_details.flow_run_id, 9))
    names = sorted(n for n in runs if not n.startswith("Trigger Imbrace"))
    assert names == sorted([
        "trigger · Catch Webhook", "step_1 · Each item", "step_2 · Map item #1", "step_2 · Map item #2",
        "step_3 · Route", "step_4 · Big", "step_6 · Skipped map", "step_7 · Reply",
    ])  # step_5, the branch not taken, did not run
    loop = runs["step_1 · Each item"]
    for body in ("step_2 · Map item #1", "step_2 · Map item #2"):
        assert parent_ids(runs[body]) == [loop.id]
        assert loop.start_time <= runs[body].start_time <= runs[body].end_time <= loop.end_time
    skipped = runs["step_6 · Skipped map"]
    assert (skipped.state_type.value, skipped.state_name) == ("COMPLETED", "Skipped")
    assert skipped.run_count == 0
    assert skipped.task_inputs["wait_for"][0].id == runs["step_4 · Big"].id  # type: ignore[union-attr]


async def test_a_fan_out_shows_only_its_failed_runs_each_in_a_task_run_of_its_own(
    creds: ImbraceCredentials, flows: Any, engine: ImbraceLocal,
) -> None:
    flow_id = three_steps(flows.client, fail=False, name="Three steps, by payload")
    ok, bad = {"url": f"{engine.url}/_local/ui"}, {"url": "http://127.0.0.1:9/closed"}

    @flow(name="steps-fan-out")
    async def fans_out() -> list[Any]:
        return await t.atrigger_many_and_wait(creds, flow_id, [ok, bad, ok], return_exceptions=True)

    state = await fans_out(return_state=True)
    results = await state.aresult()
    assert [isinstance(r, ImbraceRunFailed) for r in results] == [False, True, False]
    runs = await task_runs_of(state.state_details.flow_run_id, 5)
    fan_out = waiting_task(runs, "Trigger Imbrace flow many times")
    named = by_name(runs)
    group = named[f"Imbrace run {results[1].run_id} · Three steps, by payload"]
    assert group.state_type.value == "FAILED" and parent_ids(group) == [fan_out.id]
    assert group.start_time is not None and group.end_time is not None
    with creds.get_client() as client:
        run = client.workflows.get_run(run_id=results[1].run_id)
    assert (group.start_time, group.end_time) == (run.start_time, run.finish_time)  # the engine's
    log = (await logs_of(group.id))[0]
    assert "FAILED, ran " in log and "the engine's startTime and finishTime" in log
    steps = [r for r in runs if parent_ids(r) == [group.id]]
    assert sorted(r.name for r in steps) == sorted(THREE_STEP_NAMES[:3])
    assert len(runs) == 5  # the fan-out task, the failed run, its 3 steps: nothing for the others


@pytest.mark.parametrize("how", ["call", "block", "setting"])
async def test_show_steps_none_or_failed_writes_nothing_for_a_successful_run(
    creds: ImbraceCredentials, flows: Any, monkeypatch: pytest.MonkeyPatch, how: str,
) -> None:
    flow_id = many_steps(flows.client, 2, name=f"Quiet {how}")
    call: dict[str, Any] = {}
    if how == "call":
        call["show_steps"] = "none"
    elif how == "block":
        creds = creds.model_copy(update={"show_steps": "failed"})
    else:
        monkeypatch.setenv("PREFECT_INTEGRATIONS_IMBRACE_SHOW_STEPS", "none")

    @flow(name=f"steps-quiet-{how}")
    async def waits() -> Any:
        return await t.atrigger_flow_and_wait(creds, flow_id, {}, **call)

    state = await waits(return_state=True)
    assert state.is_completed()
    runs = await task_runs_of(state.state_details.flow_run_id, 2, timeout=5)
    assert [r.name.startswith("Trigger Imbrace flow and wait") for r in runs] == [True]


async def test_auto_shows_successful_runs_until_the_flow_run_holds_its_limit_then_failed_ones_only(
    creds: ImbraceCredentials, flows: Any, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The default `auto`: 3 step task runs at most for successful runs of one flow run."""
    monkeypatch.setenv("PREFECT_INTEGRATIONS_IMBRACE_AUTO_STEPS_PER_FLOW_RUN", "3")
    ok = many_steps(flows.client, 1, name="Auto limit")  # the trigger and step_1: 2 task runs
    failing = three_steps(flows.client, fail=True, name="Auto limit failing")

    @flow(name="steps-auto-limit")
    async def waits() -> None:
        for n in range(3):  # 0 -> 2 -> 4 task runs held: the third run is left out
            await t.atrigger_flow_and_wait(creds, ok, {"n": n})
        with pytest.raises(ImbraceRunFailed):
            await t.atrigger_flow_and_wait(creds, failing, {"to": "e@example.com"})
        await t.atrigger_flow_and_wait(creds, ok, {"n": 3}, show_steps="all")

    state = await waits(return_state=True)
    assert state.is_completed()
    runs = await task_runs_of(state.state_details.flow_run_id, 5 + 2 + 2 + 3 + 2)
    waiting = sorted((r for r in runs if r.name.startswith("Trigger Imbrace flow")),
                     key=lambda r: r.expected_start_time)
    assert len(waiting) == 5
    under = {w.id: sorted(r.name.split(" · ")[0] for r in runs if parent_ids(r) == [w.id])
             for w in waiting}
    assert [under[w.id] for w in waiting] == [
        ["step_1", "trigger"], ["step_1", "trigger"], [],  # the third: over the limit
        ["step_1", "step_2", "trigger"],  # failed: always shown
        ["step_1", "trigger"],  # show_steps="all" on the call: no limit
    ]
    told = await logs_of(waiting[2].id)
    assert any("not shown as task runs: the flow run holds 3 step task runs" in m for m in told)


async def test_each_step_costs_one_event_and_one_log(creds: ImbraceCredentials, flows: Any, events: Any) -> None:
    flow_id = many_steps(flows.client, 10, name="Ten steps")

    @flow(name="steps-cost")
    async def waits() -> Any:
        return await t.atrigger_flow_and_wait(creds, flow_id, {})

    state = await waits(return_state=True)
    assert state.is_completed()
    written = step_events(events)
    assert len(written) == 11  # the trigger and 10 steps, one event each
    assert {e.resource["prefect.state-type"] for e in written} == {"COMPLETED"}
    runs = [r for r in await task_runs_of(state.state_details.flow_run_id, 12)
            if not r.name.startswith("Trigger")]
    assert len(runs) == 11
    assert [len(await logs_of(r.id)) for r in runs] == [1] * 11


async def test_an_unreadable_flow_version_still_shows_the_steps_by_name(
    creds: ImbraceCredentials, flows: Any, engine: ImbraceLocal,
) -> None:
    flow_id = many_steps(flows.client, 1, name="No version")
    engine.control.add_fault(rf"^/activepieces/v1/flows/{flow_id}$", method="GET", status=500, times=100)

    @flow(name="steps-no-version")
    async def waits() -> Any:
        return await t.atrigger_flow_and_wait(creds, flow_id, {"x": 1})

    state = await waits(return_state=True)
    engine.control.clear_faults()
    assert state.is_completed()  # the wait itself is untouched
    names = {r.name for r in await task_runs_of(state.state_details.flow_run_id, 3)}
    assert {"trigger", "step_1"} <= names


def test_show_steps_takes_only_its_four_values(creds: ImbraceCredentials) -> None:
    with pytest.raises(ImbraceConfigurationError,
                       match="show_steps must be one of 'auto', 'all', 'failed', 'none'"):
        t.trigger_flow_and_wait.fn(creds, "f" * 21, show_steps="some")  # type: ignore[arg-type]


async def test_an_imbrace_flow_run_waited_in_a_flow_shows_a_task_run_for_the_run_with_its_steps(
    creds: ImbraceCredentials, flows: Any,
) -> None:
    flow_id = three_steps(flows.client, fail=True, name="Job block")
    job = ImbraceFlow(imbrace_credentials=creds, flow_id=flow_id)

    @flow(name="steps-job-block")
    async def waits() -> None:
        run = await job.atrigger({"to": "d@example.com"})
        await run.await_for_completion()

    state = await waits(return_state=True)
    error = await state.aresult(raise_on_failure=False)
    assert isinstance(error, ImbraceRunFailed)
    runs = by_name(await task_runs_of(state.state_details.flow_run_id, 4))
    group = runs[f"Imbrace run {error.run_id} · Job block"]  # the flow may wait for several runs
    assert group.state_type.value == "FAILED" and parent_ids(group) == []
    assert group.state is not None and group.state.message == (
        f"FAILED at step step_2: {error.error_message}")
    steps = {n: r for n, r in runs.items() if r.id != group.id}
    assert sorted(steps) == sorted(THREE_STEP_NAMES[:3])
    assert all(parent_ids(r) == [group.id] for r in steps.values())
    with steps_view("none"):  # a wait of your own, switched off around it
        quiet = await waits(return_state=True)
    assert await task_runs_of(quiet.state_details.flow_run_id, 1, timeout=5) == []
