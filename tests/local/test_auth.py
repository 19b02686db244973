"""Gateway authentication modes, their exact error bodies, and tenancy between organisations."""

from __future__ import annotations

import httpx
import pytest

from prefect_imbrace.local import ImbraceLocal

from .conftest import Api


@pytest.fixture
def multi() -> ImbraceLocal:
    with ImbraceLocal(
        api_keys={"key-a": "org_alpha", "key-b": "org_beta", "key-a2": "org_alpha"},
        access_tokens={"tok-a": "org_alpha"},
        bearer_tokens={"eyJ.jwt.a": ["org_alpha", "org_gamma"]},
    ) as engine:
        yield engine


def get(engine: ImbraceLocal, path: str, headers: dict[str, str], **params: str) -> httpx.Response:
    return httpx.get(engine.engine_url + "/v1" + path, headers=headers, params=params)


def test_no_credentials_is_gateway_401(multi: ImbraceLocal) -> None:
    r = get(multi, "/flows", {})
    assert r.status_code == 401
    assert r.json() == {"message": "Unauthorized - API key or Access Token required"}


def test_unknown_api_key(multi: ImbraceLocal) -> None:
    r = get(multi, "/flows", {"x-api-key": "nope"})
    assert r.status_code == 401
    body = r.json()
    assert body["error"] == "Unauthorized" and body["message"] == "Invalid API key" and body["request_id"]


def test_api_key_selects_its_organisation(multi: ImbraceLocal) -> None:
    alpha = get(multi, "/users/projects/current", {"x-api-key": "key-a"}).json()
    beta = get(multi, "/users/projects/current", {"x-api-key": "key-b"}).json()
    assert alpha["externalId"] == "org_alpha" and alpha["displayName"] == "Organization org_alpha"
    assert alpha["type"] == "TEAM" and beta["externalId"] == "org_beta" and alpha["id"] != beta["id"]
    assert get(multi, "/users/projects/anything", {"x-api-key": "key-a2"}).json()["id"] == alpha["id"]


def test_bearer_mode(multi: ImbraceLocal) -> None:
    ok = get(multi, "/users/projects/current", {"authorization": "Bearer eyJ.jwt.a", "x-organization-id": "org_gamma"})
    assert ok.status_code == 200 and ok.json()["externalId"] == "org_gamma"
    bad = get(multi, "/flows", {"authorization": "Bearer garbage", "x-organization-id": "org_alpha"})
    assert (bad.status_code, bad.json()) == (401, {"message": "Unauthorized - Invalid JWT"})
    other = get(multi, "/flows", {"authorization": "Bearer eyJ.jwt.a", "x-organization-id": "org_beta"})
    assert other.status_code == 400
    assert other.json() == {"message": "Bad Request - organization_id not found in user organizations"}


def test_access_token_mode(multi: ImbraceLocal) -> None:
    ok = get(multi, "/users/projects/current", {"x-access-token": "tok-a"})
    assert ok.json()["externalId"] == "org_alpha"
    bad = get(multi, "/flows", {"x-access-token": "wrong"})
    assert (bad.status_code, bad.json()) == (401, {"message": "Unauthorized"})
    # `?organizationId=` is taken as the org without an account lookup, as the gateway does.
    chosen = get(multi, "/users/projects/current", {"x-access-token": "whatever"}, organizationId="org_delta")
    assert chosen.json()["externalId"] == "org_delta"
    malformed = get(multi, "/flows", {"x-access-token": "whatever"}, organizationId="delta")
    assert malformed.status_code == 409
    assert malformed.json() == {"statusCode": 409, "error": "Conflict",
                                "message": "Cannot read properties of undefined (reading 'type')"}


def test_objects_of_another_project_are_invisible(multi: ImbraceLocal) -> None:
    a, b = Api(multi, {"x-api-key": "key-a"}), Api(multi, {"x-api-key": "key-b"})
    flow_id = a.flow(actions=[])
    assert b.get(f"/flows/{flow_id}").status_code == 404
    assert b.get(f"/flows/{flow_id}").json() == {"code": "ENTITY_NOT_FOUND", "params": {}}
    assert b.op(flow_id, "CHANGE_STATUS", {"status": "DISABLED"}).status_code == 404
    assert b.delete(f"/flows/{flow_id}").status_code == 404
    assert b.get("/flows").json()["data"] == []
    httpx.post(multi.engine_url + f"/v1/webhooks/{flow_id}", json={}, headers={"x-api-key": "key-a"})
    run_id = a.runs_of(flow_id)[0]["id"]
    assert b.get(f"/flow-runs/{run_id}").json() == {"code": "FLOW_RUN_NOT_FOUND", "params": {"id": run_id}}
    assert b.get("/flow-runs", params={"flowId": flow_id}).json() == {"data": [], "next": None, "previous": None}
    folder = a.post("/folders", json={"displayName": "F"}).json()
    assert b.get(f"/folders/{folder['id']}").status_code == 404


def test_project_id_mismatch_is_403(api: Api) -> None:
    r = api.get("/flows", params={"projectId": "AAAAAAAAAAAAAAAAAAAAA"})
    assert r.status_code == 403
    assert r.json() == {"code": "AUTHORIZATION", "params": {"message": "invalid project id"}}
    r = api.post("/flows", json={"displayName": "x", "projectId": "AAAAAAAAAAAAAAAAAAAAA"})
    assert r.status_code == 403
    assert api.get("/flows", params={"projectId": api.engine.project_id}).status_code == 200


def test_webhooks_skip_token_checks_but_need_a_header(multi: ImbraceLocal) -> None:
    a = Api(multi, {"x-api-key": "key-a"})
    flow_id = a.flow(actions=[])
    url = multi.engine_url + f"/v1/webhooks/{flow_id}"
    assert httpx.post(url, json={}).status_code == 401
    assert httpx.post(url, json={}, headers={"x-access-token": "anything"}).status_code == 200
    assert httpx.post(url, json={}, headers={"authorization": "Bearer x", "x-organization-id": "org_zzz"}).status_code == 200
    assert httpx.post(url, json={}, headers={"x-api-key": "bad"}).status_code == 401


def test_request_id_is_echoed(api: Api) -> None:
    assert api.get("/flows", headers={"x-request-id": "abc-123"}).headers["x-request-id"] == "abc-123"
    generated = api.get("/flows", headers={"x-request-id": "x" * 65}).headers["x-request-id"]
    assert generated.startswith("req_") and len(generated) == 25


def test_add_organization_at_run_time(engine: ImbraceLocal) -> None:
    key, project_id = engine.add_organization("org_new")
    r = httpx.get(engine.engine_url + "/v1/users/projects/current", headers={"x-api-key": key})
    assert r.json()["id"] == project_id and project_id != engine.project_id
    with pytest.raises(ValueError):
        engine.add_organization("not-an-org")


def test_secrets_stay_out_of_reprs(engine: ImbraceLocal) -> None:
    for text in (repr(engine), repr(engine.config), repr(engine.control)):
        assert engine.api_key not in text and engine.config.control_token not in text


def test_project_id_needs_a_started_engine() -> None:
    engine = ImbraceLocal()
    with pytest.raises(RuntimeError, match="not started"):
        engine.project_id  # noqa: B018
    with engine:
        project_id = engine.project_id
    assert engine.project_id == project_id  # still readable after stop
