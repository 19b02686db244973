"""Run lifecycle, list filters, pagination, retry, cancel, archive, pause/resume."""

from __future__ import annotations

import base64
from datetime import datetime, timedelta, timezone

import pytest

from prefect_imbrace.local import ImbraceLocal

from .conftest import Api, piece_action, return_response


def flags_call(engine: ImbraceLocal, name: str = "step_1") -> dict:
    """An HTTP step that calls this engine's /v1/flags (a fault there makes it fail)."""
    return piece_action(name, "@activepieces/piece-http", "send_request", {
        "method": "GET", "url": engine.engine_url + "/v1/flags", "headers": {"x-api-key": engine.api_key},
        "queryParams": {}, "body_type": "none"}, version="~0.9.5")


PAUSE = piece_action("step_1", "@activepieces/piece-delay", "delayFor", {"unit": "minutes", "delayFor": 5})


def test_list_has_no_steps_get_has_steps(api: Api) -> None:
    flow_id = api.flow(actions=[return_response()])
    api.post(f"/webhooks/{flow_id}", json={})
    run = api.wait_run(api.runs_of(flow_id)[0]["id"])
    listed = api.get("/flow-runs").json()["data"][0]
    assert "steps" not in listed and listed["id"] == run["id"]
    assert set(run["steps"]) == {"trigger", "step_1"} and run["logsFileId"]
    assert run["flowVersion"] == {"displayName": "flow"}
    assert api.get("/flow-runs/AAAAAAAAAAAAAAAAAAAAA").json() == {
        "code": "FLOW_RUN_NOT_FOUND", "params": {"id": "AAAAAAAAAAAAAAAAAAAAA"}}


def test_failed_run_and_retry_from_failed_step(engine: ImbraceLocal, api: Api) -> None:
    flow_id = api.flow(actions=[flags_call(engine), return_response("step_2", body={"ok": True})])
    engine.control.add_fault(r"/v1/flags$", status=500, times=1)
    api.post(f"/webhooks/{flow_id}", json={})
    run = api.wait_run(api.runs_of(flow_id)[0]["id"])
    assert run["status"] == "FAILED" and run["failedStep"] == {"name": "step_1", "displayName": "send_request"}
    assert run["steps"]["step_1"]["status"] == "FAILED"
    retried = api.post(f"/flow-runs/{run['id']}/retry", json={"strategy": "FROM_FAILED_STEP"})
    assert retried.status_code == 200 and retried.json()["id"] == run["id"]
    again = api.wait_run(run["id"], statuses=("SUCCEEDED", "FAILED"))
    # as on the engine, the run still names the step that failed first
    assert again["status"] == "SUCCEEDED" and again["failedStep"] == run["failedStep"]
    assert again["steps"]["trigger"] == run["steps"]["trigger"]
    assert engine.control.counters()["runs_per_flow"][flow_id] == 2


def test_retry_on_latest_version_replays_the_payload(api: Api) -> None:
    flow_id = api.flow(actions=[return_response(body="{{trigger.body}}")])
    api.post(f"/webhooks/{flow_id}", json={"p": 1})
    first = api.wait_run(api.runs_of(flow_id)[0]["id"])
    fresh = api.post(f"/flow-runs/{first['id']}/retry", json={"strategy": "ON_LATEST_VERSION"}).json()
    assert fresh["id"] != first["id"] and fresh["steps"] == {}
    done = api.wait_run(fresh["id"])
    assert done["steps"]["trigger"]["output"]["body"] == {"p": 1}
    bulk = api.post("/flow-runs/retry", json={"strategy": "ON_LATEST_VERSION", "flowRunIds": [first["id"]]}).json()
    assert len(bulk) == 1 and bulk[0]["status"] == "QUEUED"
    assert api.post(f"/flow-runs/{first['id']}/retry", json={"strategy": "NOPE"}).status_code == 400


def test_pause_resume_and_cancel(engine: ImbraceLocal, api: Api) -> None:
    flow_id = api.flow(actions=[PAUSE, return_response("step_2", body={"after": "pause"})])
    api.post(f"/webhooks/{flow_id}", json={})
    api.post(f"/webhooks/{flow_id}", json={})
    a, b = (api.wait_run(r["id"]) for r in api.runs_of(flow_id, count=2))
    assert a["status"] == b["status"] == "PAUSED" and "finishTime" not in a
    engine.control.resume_run(a["id"])
    resumed = api.wait_run(a["id"], statuses=("SUCCEEDED", "FAILED"))
    assert resumed["status"] == "SUCCEEDED" and resumed["steps"]["step_1"]["status"] == "SUCCEEDED"
    assert api.post("/flow-runs/cancel", json={"flowRunIds": [a["id"], b["id"]]}).status_code == 200
    assert api.get(f"/flow-runs/{b['id']}").json()["status"] == "CANCELED"
    assert api.get(f"/flow-runs/{a['id']}").json()["status"] == "SUCCEEDED"  # terminal runs are left alone


def test_filters_and_qs_array_syntax(engine: ImbraceLocal, api: Api) -> None:
    ok_flow = api.flow("ok", actions=[])
    other = api.flow("other", actions=[])
    for flow_id in (ok_flow, ok_flow, other):
        api.post(f"/webhooks/{flow_id}", json={})
    runs = api.runs_of(ok_flow, count=2) + api.runs_of(other)
    for run in runs:
        api.wait_run(run["id"])
    engine.control.set_run_status(runs[0]["id"], "FAILED")
    count = lambda q: len(api.get("/flow-runs?" + q).json()["data"])  # noqa: E731
    assert count(f"flowId={ok_flow}") == 2
    assert count(f"flowId={ok_flow}&flowId={other}") == 3
    assert count(f"flowId[]={other}") == 1
    assert count(f"flowId[0]={ok_flow}&flowId[1]={other}") == 3
    assert count("status=FAILED") == 1 and count("status[]=FAILED&status[]=SUCCEEDED") == 3
    assert count(f"flowRunIds={runs[1]['id']}") == 1
    created = runs[1]["created"]
    assert count("createdAfter=" + created) + count("createdBefore=" + created) == 4  # inclusive on both
    assert count("archived=false") == 3
    api.post("/flow-runs/archive", json={"flowRunIds": [runs[2]["id"]]})
    assert count("archived=true") == 1 and count("archived=false") == 2
    assert count("tags=nope") == 0
    future = (datetime.now(timezone.utc) + timedelta(hours=1)).isoformat()
    assert api.get("/flow-runs", params={"createdAfter": future}).json()["data"] == []
    assert api.get("/flow-runs", params={"flowId": "bad"}).json()["message"] == \
        'querystring/flowId/0 must match pattern "^[0-9a-zA-Z]{21}$"'


def test_run_pagination_never_skips(api: Api) -> None:
    flow_id = api.flow(actions=[])
    for _ in range(12):
        api.post(f"/webhooks/{flow_id}", json={})
    all_ids = [r["id"] for r in api.runs_of(flow_id, count=12)]
    default = api.get("/flow-runs").json()
    assert len(default["data"]) == 10 and default["next"] and default["previous"] is None
    page = api.get("/flow-runs", params={"limit": 5}).json()
    seen = [r["id"] for r in page["data"]]
    while page["next"]:
        page = api.get("/flow-runs", params={"limit": 5, "cursor": page["next"]}).json()
        seen += [r["id"] for r in page["data"]]
    assert seen == all_ids
    outer = base64.b64decode(api.get("/flow-runs", params={"limit": 5}).json()["next"]).decode()
    assert outer.startswith("next_") and base64.b64decode(outer[5:]).decode().startswith("created:")


@pytest.mark.parametrize("status", ["MEMORY_LIMIT_EXCEEDED", "SOMETHING_NEW"])
def test_control_can_force_any_status(engine: ImbraceLocal, api: Api, status: str) -> None:
    flow_id = api.flow(actions=[])
    api.post(f"/webhooks/{flow_id}", json={})
    run_id = api.wait_run(api.runs_of(flow_id)[0]["id"])["id"]
    engine.control.set_run_status(run_id, status)
    assert api.get(f"/flow-runs/{run_id}").json()["status"] == status


def test_created_bounds_accept_offsets_and_reject_garbage(api: Api) -> None:
    assert api.get("/flow-runs?createdAfter=2020-01-01T00:00:00+00:00").status_code == 200  # '+' unencoded
    assert api.get("/flow-runs", params={"createdBefore": "2020-01-01T00:00:00.000Z"}).status_code == 200
    bad = api.get("/flow-runs", params={"createdAfter": "yesterday"})
    assert bad.status_code == 400 and bad.json()["message"] == 'createdAfter must match format "date-time"'
