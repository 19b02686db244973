"""Flows, versions and the non-tree operations: draft-on-locked, publish/enable rules, delete."""

from __future__ import annotations

import time

import httpx

from prefect_imbrace.local import ImbraceLocal

from .conftest import Api, return_response, webhook_trigger


def test_create_shape(api: Api) -> None:
    r = api.post("/flows", json={"displayName": "demo flow", "unknown": 1})
    assert r.status_code == 201
    assert r.headers["content-type"] == "application/json; charset=utf-8"
    flow = r.json()
    assert flow["status"] == "DISABLED" and flow["operationStatus"] == "NONE"
    assert flow["publishedVersionId"] is None and flow["folderId"] is None and flow["metadata"] is None
    assert flow["projectId"] == api.engine.project_id and len(flow["externalId"]) == 21
    version = flow["version"]
    assert version["state"] == "DRAFT" and version["valid"] is False and version["schemaVersion"] == "8"
    assert version["trigger"] == {"name": "trigger", "valid": False, "displayName": "Select Trigger",
                                  "type": "EMPTY", "settings": {}}
    assert version["displayName"] == "demo flow" and version["updatedBy"] is None
    assert flow["created"].endswith("Z") and len(flow["created"]) == 24


def test_create_validation_messages(api: Api) -> None:
    r = api.post("/flows", json={})
    assert r.status_code == 400
    assert r.json() == {"statusCode": 400, "code": "FST_ERR_VALIDATION", "error": "Bad Request",
                        "message": "body must have required property 'displayName'"}
    assert api.post("/flows", json={"displayName": {"a": 1}}).json()["message"] == "body/displayName must be string"
    assert api.post("/flows", json={"displayName": 5}).json()["version"]["displayName"] == "5"  # AJV coerces
    assert api.get("/flows", params={"limit": "abc"}).json()["message"] == "querystring/limit must be number"
    assert api.get("/flows", params={"status": "NOPE"}).json()["message"] == \
        "querystring/status/0 must be equal to one of the allowed values"
    r = api.get("/flows/not-a-valid-id")
    assert r.json()["message"] == 'params/id must match pattern "^[0-9a-zA-Z]{21}$"'
    assert api.get("/flows/AAAAAAAAAAAAAAAAAAAAA").json() == {"code": "ENTITY_NOT_FOUND", "params": {}}


def test_publish_then_edit_creates_a_draft(api: Api) -> None:
    flow_id = api.flow(actions=[return_response()])
    flow = api.get(f"/flows/{flow_id}").json()
    published = flow["publishedVersionId"]
    assert flow["status"] == "ENABLED" and flow["version"]["state"] == "LOCKED"
    assert flow["version"]["trigger"]["settings"]["pieceVersion"] == "0.1.25"  # pinned on lock
    assert flow["triggerSource"] == {"schedule": None}
    edited = api.op(flow_id, "CHANGE_NAME", {"displayName": "renamed"}).json()
    assert edited["version"]["state"] == "DRAFT" and edited["version"]["id"] != published
    assert edited["publishedVersionId"] == published and edited["version"]["displayName"] == "renamed"
    assert edited["updated"] > flow["updated"]
    locked = api.get(f"/flows/{flow_id}", params={"versionId": published}).json()["version"]
    assert locked["state"] == "LOCKED" and locked["displayName"] == "flow"
    back = api.op(flow_id, "USE_AS_DRAFT", {"versionId": published}).json()
    assert back["version"]["displayName"] == "flow" and back["version"]["state"] == "DRAFT"
    listed = api.get("/flows", params={"versionState": "LOCKED"}).json()["data"]
    assert listed[0]["version"]["id"] == published
    assert api.op(flow_id, "USE_AS_DRAFT", {"versionId": "AAAAAAAAAAAAAAAAAAAAA"}).status_code == 404
    api.op(flow_id, "LOCK_FLOW", {})
    assert api.get(f"/flows/{flow_id}").json()["version"]["state"] == "LOCKED"


def test_status_rules(api: Api) -> None:
    fresh = api.post("/flows", json={"displayName": "x"}).json()["id"]
    r = api.op(fresh, "CHANGE_STATUS", {"status": "ENABLED"})
    assert r.status_code == 500 and r.json()["statusCode"] == 500
    # Publishing an EMPTY trigger locks it, then enabling fails: published but DISABLED.
    r = api.op(fresh, "LOCK_AND_PUBLISH", {})
    assert r.status_code == 400 and r.json()["code"] == "PIECE_TRIGGER_NOT_FOUND"
    flow = api.get(f"/flows/{fresh}").json()
    assert flow["publishedVersionId"] and flow["status"] == "DISABLED"
    good = api.flow(actions=[], publish=False)
    assert api.op(good, "LOCK_AND_PUBLISH", {"status": "DISABLED"}).json()["status"] == "DISABLED"
    assert api.op(good, "CHANGE_STATUS", {"status": "ENABLED"}).json()["status"] == "ENABLED"
    assert "triggerSource" not in api.op(good, "CHANGE_STATUS", {"status": "DISABLED"}).json()


def test_republishing_an_enabled_flow_onto_an_empty_trigger_is_refused(api: Api) -> None:
    """The old trigger is disabled first, the EMPTY one cannot be enabled: 400, published, DISABLED."""
    flow_id = api.flow(actions=[])
    assert api.get(f"/flows/{flow_id}").json()["status"] == "ENABLED"
    empty = {"name": "trigger", "type": "EMPTY", "valid": False, "displayName": "Select Trigger", "settings": {}}
    assert api.op(flow_id, "UPDATE_TRIGGER", empty).status_code == 200
    r = api.op(flow_id, "LOCK_AND_PUBLISH", {"status": "ENABLED"})
    assert r.status_code == 400 and r.json()["code"] == "PIECE_TRIGGER_NOT_FOUND"
    flow = api.get(f"/flows/{flow_id}").json()
    assert flow["status"] == "DISABLED" and flow["publishedVersionId"] == flow["version"]["id"]
    assert flow["version"]["state"] == "LOCKED" and flow["version"]["trigger"]["type"] == "EMPTY"
    assert api.post(f"/webhooks/{flow_id}", json={}).status_code == 404  # disabled: nothing runs


def test_operation_validation(api: Api) -> None:
    flow_id = api.post("/flows", json={"displayName": "x"}).json()["id"]
    for body in ({"type": "NOPE", "request": {}}, {"type": "CHANGE_STATUS", "request": {}},
                 {"type": "CHANGE_NAME", "request": {"displayName": [1, 2]}}):
        r = api.post(f"/flows/{flow_id}", json=body)
        assert r.status_code == 400 and r.json()["message"] == "body must match a schema in anyOf", body
    assert api.post(f"/flows/{flow_id}", json={"request": {}}).json()["message"] == \
        "body must have required property 'type'"


def test_folder_metadata_and_filters(api: Api) -> None:
    folder = api.post("/folders", json={"displayName": "Ops"}).json()
    a = api.flow("alpha", actions=[])
    b = api.post("/flows", json={"displayName": "beta", "folderName": "ops"}).json()
    assert b["folderId"] == folder["id"]  # folderName found case-insensitively
    api.op(a, "UPDATE_METADATA", {"metadata": {"tags": [{"id": "1", "name": "prod"}]}})
    assert api.op(a, "CHANGE_FOLDER", {"folderId": folder["id"]}).json()["folderId"] == folder["id"]
    names = lambda **p: sorted(f["version"]["displayName"] for f in api.get("/flows", params=p).json()["data"])  # noqa: E731
    assert names(folderId=folder["id"]) == ["alpha", "beta"]
    assert names(folderId="NULL") == []
    assert names(status="ENABLED") == ["alpha"]
    assert names(name="ALP") == ["alpha"]
    assert names(tags="prod") == ["alpha", "beta"]  # flows without tags always match
    api.op(b["id"], "UPDATE_METADATA", {"metadata": {"tags": [{"id": "2", "name": "dev"}]}})
    assert names(tags="prod") == ["alpha"]
    assert names(externalIds=b["externalId"]) == ["beta"]
    assert api.get("/flows/count").json() == 2
    assert api.get(f"/folders/{folder['id']}").json()["numberOfFlows"] == 2


def test_list_order_and_pagination(api: Api) -> None:
    ids = [api.post("/flows", json={"displayName": f"f{i}"}).json()["id"] for i in range(7)]
    first = api.get("/flows", params={"limit": 3}).json()
    assert [f["id"] for f in first["data"]] == ids[::-1][:3] and first["previous"] is None
    seen = [f["id"] for f in first["data"]]
    page = first
    while page["next"]:
        page = api.get("/flows", params={"limit": 3, "cursor": page["next"]}).json()
        seen += [f["id"] for f in page["data"]]
        assert page["previous"]
    assert seen == ids[::-1]
    back = api.get("/flows", params={"limit": 3, "cursor": page["previous"]}).json()
    assert [f["id"] for f in back["data"]] == ids[::-1][3:6]
    assert len(api.get("/flows", params={"limit": -1}).json()["data"]) == 7
    bad = api.get("/flows", params={"cursor": "%%%"})
    assert bad.status_code == 500 and bad.json()["error"] == "Internal Server Error"
    # editing moves a flow to the front (sorted by `updated`)
    api.op(ids[0], "CHANGE_NAME", {"displayName": "touched"})
    assert api.get("/flows", params={"limit": 1}).json()["data"][0]["id"] == ids[0]


def test_async_delete(api: Api) -> None:
    flow_id = api.flow(actions=[])
    assert api.delete(f"/flows/{flow_id}").status_code == 204
    during = api.get(f"/flows/{flow_id}").json()
    assert during["operationStatus"] == "DELETING"
    assert api.get("/flows").json()["data"] == []
    again = api.delete(f"/flows/{flow_id}")
    assert again.status_code == 400 and again.json()["code"] == "FLOW_OPERATION_INVALID"
    assert httpx.post(api.engine.engine_url + f"/v1/webhooks/{flow_id}", json={},
                      headers={"x-api-key": api.engine.api_key}).status_code == 410
    deadline = time.monotonic() + 5
    while api.get(f"/flows/{flow_id}").status_code != 404 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert api.get(f"/flows/{flow_id}").status_code == 404


def test_flow_in_use_by_another_user() -> None:
    with ImbraceLocal(api_keys={"k1": "org_team", "k2": "org_team"}) as engine:
        one, two = Api(engine, {"x-api-key": "k1"}), Api(engine, {"x-api-key": "k2"})
        flow_id = one.flow(actions=[], publish=False)
        r = two.op(flow_id, "CHANGE_NAME", {"displayName": "mine"})
        assert r.status_code == 409 and r.json()["code"] == "FLOW_IN_USE"
        assert r.json()["params"]["flowVersionId"]
        assert one.op(flow_id, "CHANGE_NAME", {"displayName": "still mine"}).status_code == 200


def test_tree_operations_go_through_the_engine(api: Api) -> None:
    flow_id = api.flow(actions=[return_response("step_1")], publish=False)
    r = api.op(flow_id, "DUPLICATE_ACTION", {"stepName": "step_1"})
    assert r.status_code == 200
    assert r.json()["version"]["trigger"]["nextAction"]["nextAction"]["name"] == "step_2"
    assert api.op(flow_id, "DUPLICATE_ACTION", {"stepName": "nope"}).json()["code"] == "STEP_NOT_FOUND"
    r = api.op(flow_id, "DELETE_ACTION", {"names": ["step_1", "step_2"]})
    assert "nextAction" not in r.json()["version"]["trigger"] or r.json()["version"]["trigger"]["nextAction"] is None
    imported = api.op(flow_id, "IMPORT_FLOW", {"displayName": "imported", "trigger": webhook_trigger(), "schemaVersion": None})
    assert imported.json()["version"]["displayName"] == "imported" and imported.json()["version"]["valid"] is True


def test_repeated_scalar_query_values(api: Api) -> None:
    api.post("/flows", json={"displayName": "only"})
    assert len(api.get("/flows?name=only").json()["data"]) == 1
    r = api.get("/flows?name=a&name=b")
    assert r.status_code == 400 and r.json()["message"] == "querystring/name must be string"
