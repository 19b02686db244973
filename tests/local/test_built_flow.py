"""A flow built only through the API (webhook -> router -> loop -> return response), run both ways."""

from __future__ import annotations

from .conftest import Api, piece_action, return_response, webhook_trigger

ROUTER = {
    "name": "step_1", "type": "ROUTER", "valid": True, "displayName": "Route",
    "settings": {"executionType": "EXECUTE_FIRST_MATCH", "branches": [
        {"branchName": "Has items", "branchType": "CONDITION",
         "conditions": [[{"firstValue": "{{trigger.body.items}}", "operator": "LIST_IS_NOT_EMPTY"}]]},
        {"branchName": "Otherwise", "branchType": "FALLBACK"},
    ]},
}
LOOP = {"name": "step_2", "type": "LOOP_ON_ITEMS", "valid": True, "displayName": "Each item",
        "settings": {"items": "{{trigger.body.items}}"}}
MAP = piece_action("step_3", "@activepieces/piece-data-mapper", "advanced_mapping",
                   {"mapping": {"item": "{{step_2.item}}", "label": "n={{step_2.item}}"}}, version="~0.3.14")


def build(api: Api) -> str:
    flow_id = api.post("/flows", json={"displayName": "built"}).json()["id"]
    steps = [
        ("UPDATE_TRIGGER", webhook_trigger()),
        ("ADD_ACTION", {"parentStep": "trigger", "action": ROUTER}),
        ("ADD_ACTION", {"parentStep": "step_1", "stepLocationRelativeToParent": "INSIDE_BRANCH", "branchIndex": 0, "action": LOOP}),
        ("ADD_ACTION", {"parentStep": "step_2", "stepLocationRelativeToParent": "INSIDE_LOOP", "action": MAP}),
        ("ADD_ACTION", {"parentStep": "step_2", "stepLocationRelativeToParent": "AFTER",
                        "action": return_response("step_4", body={"count": "{{step_2.index}}", "last": "{{step_3.item}}"})}),
        ("ADD_ACTION", {"parentStep": "step_1", "stepLocationRelativeToParent": "INSIDE_BRANCH", "branchIndex": 1,
                        "action": return_response("step_5", status=202, body={"empty": True})}),
        ("LOCK_AND_PUBLISH", {}),
    ]
    for op_type, request in steps:
        r = api.op(flow_id, op_type, request)
        assert r.status_code == 200, (op_type, r.text)
    version = api.get(f"/flows/{flow_id}").json()["version"]
    assert version["valid"] is True and version["state"] == "LOCKED"
    return flow_id


def test_sync_returns_the_computed_reply(api: Api) -> None:
    flow_id = build(api)
    r = api.post(f"/webhooks/{flow_id}/sync", json={"items": [1, 2, 3]})
    assert (r.status_code, r.json()) == (200, {"count": 3, "last": 3})
    r = api.post(f"/webhooks/{flow_id}/sync", json={"items": []})
    assert (r.status_code, r.json()) == (202, {"empty": True})


def test_async_produces_exactly_one_succeeded_run(api: Api) -> None:
    flow_id = build(api)
    assert api.post(f"/webhooks/{flow_id}", json={"items": ["a", "b"]}).json() == {}
    runs = api.runs_of(flow_id)
    assert len(runs) == 1
    run = api.wait_run(runs[0]["id"])
    assert run["status"] == "SUCCEEDED"
    steps = run["steps"]
    assert steps["step_1"]["output"]["branches"][0]["evaluation"] is True
    iterations = steps["step_2"]["output"]["iterations"]
    assert [it["step_3"]["output"]["label"] for it in iterations] == ["n=a", "n=b"]
    assert steps["step_4"]["output"]["body"] == {"count": 2, "last": "b"}
    assert len(api.get("/flow-runs", params={"flowId": flow_id}).json()["data"]) == 1
