"""The webhook outcome table (imbrace-api.md §6.1), answered over real HTTP."""

from __future__ import annotations

import httpx
import pytest

from prefect_imbrace.local import ImbraceLocal

from .conftest import Api, piece_action, return_response, webhook_trigger

FAIL_HTTP = piece_action("step_1", "@activepieces/piece-http", "send_request",
                         {"method": "GET", "url": "http://example.invalid/", "headers": {}, "queryParams": {},
                          "body_type": "none"}, version="~0.9.5")


def hook(api: Api, flow_id: str, suffix: str = "", method: str = "POST", **kwargs) -> httpx.Response:
    return api.http.request(method, f"/webhooks/{flow_id}{suffix}", **kwargs)


def test_unknown_and_disabled(api: Api) -> None:
    for suffix in ("", "/sync"):
        r = hook(api, "AAAAAAAAAAAAAAAAAAAAA", suffix, json={"n": 1})
        assert (r.status_code, r.json()) == (410, {}) and len(r.headers["x-webhook-id"]) == 21
    r = hook(api, "not-a-valid-id", json={})
    assert r.status_code == 400
    assert r.json()["message"] == 'params/flowId must match pattern "^[0-9a-zA-Z]{21}$"'
    flow_id = api.flow(actions=[return_response()])
    api.op(flow_id, "CHANGE_STATUS", {"status": "DISABLED"})
    for suffix in ("", "/sync"):
        r = hook(api, flow_id, suffix, json={})
        assert (r.status_code, r.json()) == (404, {}) and r.headers["x-webhook-id"]


def test_async_accepts_any_method_and_runs_once(api: Api) -> None:
    flow_id = api.flow(actions=[return_response(body={"got": "{{trigger.body}}"})])
    r = hook(api, flow_id, json={"n": 5}, headers={"x-prefect-imbrace-key": "k-1"})
    assert (r.status_code, r.json()) == (200, {})
    runs = api.runs_of(flow_id)
    assert len(runs) == 1 and runs[0]["id"] != r.headers["x-webhook-id"]
    run = api.wait_run(runs[0]["id"])
    assert run["status"] == "SUCCEEDED" and run["environment"] == "PRODUCTION"
    assert run["failParentOnFailure"] is False and run["parentRunId"] == "" and run["failedStep"] == {}
    assert run["stepNameToTest"] == "" and run["archivedAt"] is None and run["startTime"] <= run["finishTime"]
    trigger = run["steps"]["trigger"]["output"]
    assert trigger["body"] == {"n": 5} and trigger["headers"]["x-prefect-imbrace-key"] == "k-1"
    assert "x-api-key" not in trigger["headers"] and trigger["headers"]["x-organization-id"] == "org_local"
    assert run["steps"]["step_1"]["output"]["body"] == {"got": {"n": 5}}
    for method in ("GET", "PUT", "PATCH", "DELETE"):
        assert hook(api, flow_id, method=method, params={"q": "1"}).status_code == 200
    assert len(api.runs_of(flow_id, count=5)) == 5


def test_sync_replies_with_the_return_response_step(api: Api) -> None:
    flow_id = api.flow(actions=[return_response(status=201, headers={"x-demo": "yes"},
                                                body={"n": "{{trigger.body.n}}", "echo": "{{trigger.body}}"})])
    r = hook(api, flow_id, "/sync", json={"n": 21})
    assert r.status_code == 201 and r.headers["x-demo"] == "yes" and r.headers["x-webhook-id"]
    assert r.json() == {"n": 21, "echo": {"n": 21}}
    assert r.headers["content-type"] == "application/json; charset=utf-8"


def test_sync_raw_text_reply(api: Api) -> None:
    flow_id = api.flow(actions=[return_response(response_type="raw", body="plain {{trigger.queryParams.w}}")])
    r = hook(api, flow_id, "/sync", method="GET", params={"w": "hello"})
    assert r.status_code == 200 and r.text == "plain hello"


def test_sync_failed_run_is_500(api: Api) -> None:
    flow_id = api.flow(actions=[FAIL_HTTP])
    r = hook(api, flow_id, "/sync", json={})
    assert r.status_code == 500
    assert r.json() == {"message": "The flow has failed and there is no response returned"}


def test_sync_without_reply_is_204(api: Api) -> None:
    flow_id = api.flow(actions=[])
    r = hook(api, flow_id, "/sync", json={})
    assert r.status_code == 204 and r.content == b"" and r.headers["x-webhook-id"]


def test_sync_timeout_is_204() -> None:
    delay = piece_action("step_1", "@activepieces/piece-delay", "delayFor", {"unit": "seconds", "delayFor": 3})
    with ImbraceLocal(sync_timeout=0.3) as engine:
        api = Api(engine)
        flow_id = api.flow(actions=[delay, return_response("step_2")])
        assert hook(api, flow_id, "/sync", json={}).status_code == 204


def test_run_timeout_is_504() -> None:
    delay = piece_action("step_1", "@activepieces/piece-delay", "delayFor", {"unit": "seconds", "delayFor": 5})
    with ImbraceLocal(run_timeout=0.3) as engine:
        api = Api(engine)
        flow_id = api.flow(actions=[delay, return_response("step_2")])
        r = hook(api, flow_id, "/sync", json={})
        assert (r.status_code, r.json()) == (504, {"message": "The request took too long to reply"})
        assert api.runs_of(flow_id)[0]["status"] == "TIMEOUT"


def test_malformed_json_is_400(api: Api) -> None:
    flow_id = api.flow(actions=[])
    r = hook(api, flow_id, content=b"{nope", headers={"content-type": "application/json"})
    assert r.status_code == 400 and r.json()["statusCode"] == 400 and "code" not in r.json()


def test_bodies_by_content_type(api: Api) -> None:
    flow_id = api.flow(actions=[return_response(body="{{trigger.body}}")])
    assert hook(api, flow_id, "/sync", content=b"", headers={"content-type": "application/json"}).json() == {}
    form = hook(api, flow_id, "/sync", content=b"a=1&b[]=2", headers={"content-type": "application/x-www-form-urlencoded"})
    assert form.json() == {"a": "1", "b": ["2"]}


def test_draft_test_and_listening(api: Api) -> None:
    flow_id = api.flow(actions=[return_response(body={"v": "draft"})], publish=False)
    assert hook(api, flow_id, "/draft/sync", json={}).json() == {"v": "draft"}  # runs even when DISABLED
    assert hook(api, flow_id, "/draft", json={"s": 1}).status_code == 200
    assert hook(api, flow_id, "/test", json={"s": 2}).status_code == 200
    assert api.get("/flow-runs", params={"flowId": flow_id}).json()["data"] == []  # TESTING runs are hidden
    version_id = api.get(f"/flows/{flow_id}").json()["version"]["id"]
    body = {"flowId": flow_id, "flowVersionId": version_id, "testStrategy": "TEST_FUNCTION"}
    events = api.post("/test-trigger", json=body).json()["data"]
    assert events[0]["payload"]["body"] == {"s": 2}
    r = api.post("/test-trigger", json={**body, "testStrategy": "SIMULATION"})
    assert r.status_code == 200 and r.content == b""
    assert hook(api, flow_id, json={"s": 3}).status_code == 200  # listening: saved, no run
    assert hook(api, flow_id, "/sync", json={"s": 4}).status_code == 404


@pytest.mark.parametrize("auth,headers,runs", [
    ({"authType": "header", "authFields": {"headerName": "x-secret", "headerValue": "s3"}}, {"x-secret": "s3"}, 1),
    ({"authType": "header", "authFields": {"headerName": "x-secret", "headerValue": "s3"}}, {"x-secret": "no"}, 0),
])
def test_catch_webhook_auth(api: Api, auth: dict, headers: dict, runs: int) -> None:
    flow_id = api.flow(actions=[], trigger=webhook_trigger(auth))
    assert hook(api, flow_id, json={}, headers=headers).status_code == 200
    if runs:
        assert len(api.runs_of(flow_id)) == 1
    else:
        assert api.get("/flow-runs", params={"flowId": flow_id}).json()["data"] == []


def test_reply_status_and_framing_headers_are_sanitised(api: Api) -> None:
    flow_id = api.flow(actions=[return_response(status=999, headers={"content-length": "999", "x-ok": "1"},
                                                body={"fine": True})])
    r = hook(api, flow_id, "/sync", json={})
    assert (r.status_code, r.json(), r.headers["x-ok"]) == (200, {"fine": True}, "1")
