"""Artifacts, events and the observer flow, read back from the real Prefect API."""

from __future__ import annotations

import asyncio
import json
import time

from prefect import flow
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId
from prefect.testing.fixtures import asserting_events_worker  # noqa: F401  (fixture)
from prefect.variables import Variable

from prefect_imbrace.flows import observe_imbrace_runs
from prefect_imbrace.tasks import trigger_flow_and_wait, trigger_many_and_wait


def artifacts_of(flow_run_id):
    async def read():
        async with get_client() as client:
            return await client.read_artifacts(
                artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id]))
            )

    return asyncio.run(read())


def events_named(worker, prefix: str):
    worker.drain()
    return [e for e in worker._client.events if e.event.startswith(prefix)]


def test_a_run_found_once_ended_gets_one_summary_with_its_link(creds, flows):
    fid = flows.failing("Broken")

    @flow
    def parent():
        return trigger_flow_and_wait(creds, fid, {})

    state = parent(return_state=True)
    arts = artifacts_of(state.state_details.flow_run_id)
    links = [a for a in arts if str(a.data).startswith("[Imbrace run")]  # LinkArtifact data
    summaries = [a for a in arts if str(a.data).startswith("### Imbrace run")]
    assert links == [] and len(summaries) == 1  # found when it had ended: one artifact
    summary = summaries[0].data
    assert "[Open the run](" in summary and "/_local/ui/runs/" in summary  # Local's run page
    assert "/activepieces/v1/" not in summary  # never the API, which a browser cannot open
    assert "**Status:** FAILED" in summary and "Broken" in summary
    assert "| step_1 | FAILED |" in summary and "cannot execute CODE steps" in summary
    assert "| trigger | SUCCEEDED |" in summary


def test_a_run_found_before_it_ends_gets_a_link_at_once(creds, flows):
    fid = flows.paused()  # the engine records a run's steps when it pauses or ends

    @flow
    def parent():
        return trigger_flow_and_wait(creds, fid, {}, paused_timeout=1)

    state = parent(return_state=True)
    assert state.is_failed()  # stayed PAUSED past the limit: no summary, the link was written
    arts = artifacts_of(state.state_details.flow_run_id)
    links = [a for a in arts if str(a.data).startswith("[Imbrace run")]
    summaries = [a for a in arts if str(a.data).startswith("### Imbrace run")]
    assert len(links) == 1 and summaries == []
    assert "/_local/ui/runs/" in links[0].data


def test_ui_url_template_is_used_for_links(creds, flows):
    fid = flows.echo()
    templated = creds.model_copy(update={"ui_url": "https://app.example/runs/{run_id}?p={project_id}"})

    @flow
    def parent():
        return trigger_flow_and_wait(templated, fid, {})

    state = parent(return_state=True)
    run_id = state.result().run_id
    arts = artifacts_of(state.state_details.flow_run_id)
    summary = next(a.data for a in arts if str(a.data).startswith("### Imbrace run"))
    assert f"[Open the run](https://app.example/runs/{run_id}?p=" in summary


def test_events_per_status_with_run_flow_project_and_prefect_run(creds, flows, asserting_events_worker):  # noqa: F811
    fid = flows.slow(0.6)

    @flow
    def parent():
        return trigger_flow_and_wait(creds, fid, {"x": 1})

    state = parent(return_state=True)
    run_id = state.result().run_id
    events = events_named(asserting_events_worker, "imbrace.flow-run.")
    names = [e.event for e in events]
    assert names[-1] == "imbrace.flow-run.succeeded"
    assert len(set(names)) == len(names)  # one event per status change
    final = events[-1]
    assert final.resource.id == f"imbrace.flow-run.{run_id}"
    related = {r.id: r.role for r in final.related}
    assert related[f"imbrace.flow.{fid}"] == "imbrace-flow"
    assert any(rid.startswith("imbrace.project.") for rid in related)
    assert f"prefect.flow-run.{state.state_details.flow_run_id}" in related
    names = {r.id: r.get("prefect.resource.name") for r in final.related}
    assert names[f"imbrace.flow.{fid}"] == "Slow"  # the Imbrace flow's display name
    assert final.resource.get("prefect.resource.name").startswith("Slow")
    assert final.payload["status"] == "SUCCEEDED"
    assert final.payload["flow_name"] == "Slow" and final.payload["duration_seconds"] > 0
    assert "/_local/ui/runs/" in final.payload["run_url"]


def test_a_fan_out_writes_progress_and_one_table_not_an_artifact_per_run(creds, flows):
    fid = flows.echo()
    broken = flows.failing("Broken")

    @flow
    def parent():
        good = trigger_many_and_wait(creds, fid, [{"i": i} for i in range(5)])
        bad = trigger_many_and_wait(creds, broken, [{}, {}], return_exceptions=True)
        return good, bad

    state = parent(return_state=True)
    good, bad = state.result()
    arts = artifacts_of(state.state_details.flow_run_id)
    assert sorted(a.type for a in arts) == ["progress", "progress", "table", "table"]
    assert all(a.data == 100.0 for a in arts if a.type == "progress")
    tables = {a.description.split(":")[0]: a for a in arts if a.type == "table"}
    table = tables[f"5 runs of Imbrace flow {fid}"]
    assert table.key == f"imbrace-batch-parent-{fid.lower()}"  # Prefect flow + Imbrace flow
    rows = json.loads(table.data)
    assert [r["#"] for r in rows] == [1, 2, 3, 4, 5]
    assert [r["imbrace_run"] for r in rows] == [r.run_id for r in good]
    assert [r["payload"] for r in rows] == [f'{{"i": {i}}}' for i in range(5)]
    assert {r["status"] for r in rows} == {"SUCCEEDED"}
    assert [r["result"] for r in rows] == [f'{{"echo": {{"i": {i}}}}}' for i in range(5)]
    assert all(f"/_local/ui/runs/{r['imbrace_run']}?token=" in r["link"] for r in rows)
    failed = json.loads(tables[f"2 runs of Imbrace flow {broken}"].data)
    assert [r["status"] for r in failed] == ["FAILED", "FAILED"]
    assert [r["imbrace_run"] for r in failed] == [e.run_id for e in bad]
    assert all(r["failed_step_or_error"] == "step_1" for r in failed)
    assert all(isinstance(r["seconds"], float) for r in failed)  # failed runs keep their time


def test_observer_reports_runs_started_outside_prefect_once(creds, flows, engine, asserting_events_worker):  # noqa: F811
    fid = flows.echo()
    with creds.get_client() as client:  # started outside Prefect, like a schedule would
        client.workflows.trigger_flow_sync(flow_id=fid, payload={"outside": True})
        run_id = client.workflows.list_runs(flow_id=fid).data[0].id
        # the engine may list a run that replied as RUNNING for a moment: observe it ended
        deadline = time.monotonic() + 30
        while not client.workflows.get_run(run_id).is_terminal and time.monotonic() < deadline:
            time.sleep(0.05)
    name = "imbrace-observer-test"
    first = observe_imbrace_runs(creds, flow_ids=[fid], variable_name=name)
    second = observe_imbrace_runs(creds, flow_ids=[fid], variable_name=name)
    assert first == 1 and second == 0
    events = events_named(asserting_events_worker, "imbrace.flow-run.")
    assert [(e.event, e.resource.id) for e in events] == [
        ("imbrace.flow-run.succeeded", f"imbrace.flow-run.{run_id}")
    ]
    cursor = Variable.get(name)
    assert cursor["since"] and run_id in cursor["done"]
