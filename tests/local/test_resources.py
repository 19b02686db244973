"""Folders, app connections, MCP servers, tables/fields/records and the small routes."""

from __future__ import annotations

import httpx

from prefect_imbrace.local import ImbraceLocal

from .conftest import Api

SECRET = {"externalId": "slack-main", "displayName": "Slack", "pieceName": "@activepieces/piece-webhook",
          "type": "SECRET_TEXT", "value": {"type": "SECRET_TEXT", "secret_text": "s3cr3t"}}


def test_folders(api: Api) -> None:
    a = api.post("/folders", json={"displayName": "Peer Folder"})
    assert a.status_code == 200 and a.json()["numberOfFlows"] == 0 and a.json()["displayOrder"] == 0
    same = api.post("/folders", json={"displayName": "peer folder"}).json()
    assert same["id"] == a.json()["id"] and same["displayName"] == "peer folder"
    other = api.post("/folders", json={"displayName": "Other"}).json()
    clash = api.post(f"/folders/{other['id']}", json={"displayName": "PEER FOLDER"})
    assert clash.status_code == 409 and clash.json() == {"code": "VALIDATION", "params": {"message": "Folder displayName is used"}}
    assert api.post(f"/folders/{other['id']}", json={"displayName": "Renamed"}).json()["displayName"] == "Renamed"
    listed = api.get("/folders").json()
    assert [f["displayName"] for f in listed["data"]] == ["peer folder", "Renamed"]  # created ASC
    assert listed["data"][0]["numberOfFlows"] == "0"  # SQL COUNT as text, as the engine lists it
    deleted = api.delete(f"/folders/{other['id']}")
    assert deleted.status_code == 200 and deleted.content == b""
    gone = api.delete(f"/folders/{other['id']}")
    assert gone.status_code == 404 and gone.json()["params"] == {"message": f"Folder {other['id']} is not found"}


def test_connections(api: Api) -> None:
    created = api.post("/app-connections", json=SECRET)
    assert created.status_code == 201 and "value" not in created.json()
    conn = created.json()
    assert conn["status"] == "ACTIVE" and conn["scope"] == "PROJECT" and conn["projectIds"] == [api.engine.project_id]
    updated = api.post("/app-connections", json={**SECRET, "displayName": "Slack v2"})
    assert updated.status_code == 201 and updated.json()["id"] == conn["id"]
    full = api.get(f"/app-connections/{conn['id']}").json()
    assert full["value"] == {"type": "SECRET_TEXT", "secret_text": "s3cr3t"} and full["owner"]["email"].endswith("@external.local")
    listed = api.get("/app-connections", params={"pieceName": "@activepieces/piece-webhook"}).json()["data"]
    assert listed[0]["flowIds"] == [] and "value" not in listed[0] and listed[0]["displayName"] == "Slack v2"
    unknown = api.post("/app-connections", json={**SECRET, "pieceName": "@activepieces/piece-does-not-exist"})
    assert unknown.status_code == 404 and unknown.json()["params"]["message"].startswith("piece_metadata_not_found")
    bad = api.post("/app-connections", json={**SECRET, "value": {"type": "SECRET_TEXT"}})
    assert bad.json()["message"] == "body must match a schema in anyOf"
    assert api.post(f"/app-connections/{conn['id']}", json={"displayName": "R"}).json()["displayName"] == "R"
    assert api.delete(f"/app-connections/{conn['id']}").status_code == 204
    assert api.get(f"/app-connections/{conn['id']}").json() == {
        "code": "ENTITY_NOT_FOUND", "params": {"entityType": "AppConnection", "entityId": conn["id"]}}


def test_connections_used_by_flows(api: Api) -> None:
    api.post("/app-connections", json=SECRET)
    flow_id = api.flow(actions=[{
        "name": "step_1", "type": "PIECE", "valid": True, "displayName": "Reply",
        "settings": {"pieceName": "@activepieces/piece-webhook", "pieceVersion": "~0.1.25",
                     "actionName": "return_response", "propertySettings": {},
                     "input": {"responseType": "json", "fields": {"status": 200, "body": {"k": "{{connections['slack-main']}}"}}}},
    }])
    assert api.get("/app-connections").json()["data"][0]["flowIds"] == [flow_id]
    assert [f["id"] for f in api.get("/flows", params={"connectionExternalIds": "slack-main"}).json()["data"]] == [flow_id]
    assert api.post(f"/webhooks/{flow_id}/sync", json={}).json() == {"k": "s3cr3t"}


def test_mcp_servers(api: Api) -> None:
    pid = api.engine.project_id
    assert api.post("/mcp-servers", json={"name": "x"}).json()["message"] == "body must have required property 'projectId'"
    assert api.get("/mcp-servers").json()["message"] == "querystring must have required property 'projectId'"
    mcp = api.post("/mcp-servers", json={"name": "Support bot", "projectId": pid})
    assert mcp.status_code == 200 and mcp.json()["tools"] == [] and len(mcp.json()["token"]) == 21
    mcp_id = mcp.json()["id"]
    flow_id = api.flow("Answer Tickets", actions=[])
    tools = [{"type": "PIECE", "toolName": "whatever", "pieceMetadata": {
                 "pieceName": "@activepieces/piece-slack", "pieceVersion": "0.9.0", "actionName": "send channel-message",
                 "actionDisplayName": "Send", "logoUrl": "https://x/y.png"}},
             {"type": "FLOW", "toolName": "t", "flowId": flow_id}]
    out = api.post(f"/mcp-servers/{mcp_id}", json={"tools": tools}).json()
    by_type = {t["type"]: t for t in out["tools"]}
    piece_tool = by_type["PIECE"]
    assert piece_tool["toolName"] == "send_channel_message_" + piece_tool["id"][:4]
    assert by_type["FLOW"]["toolName"] == "Answer_Tickets_" + by_type["FLOW"]["id"][:4]
    assert by_type["FLOW"]["flow"]["id"] == flow_id
    kept = api.post(f"/mcp-servers/{mcp_id}", json={"tools": tools[:1], "name": "Renamed"}).json()
    assert [t["id"] for t in kept["tools"]] == [piece_tool["id"]] and kept["name"] == "Renamed"
    rotated = api.post(f"/mcp-servers/{mcp_id}/rotate", json={}).json()
    assert rotated["token"] != mcp.json()["token"]
    assert [m["id"] for m in api.get("/mcp-servers", params={"projectId": pid}).json()["data"]] == [mcp_id]
    assert api.post("/mcp-servers/AAAAAAAAAAAAAAAAAAAAA/rotate", json={}).status_code == 500
    assert api.delete(f"/mcp-servers/{mcp_id}").status_code == 204
    assert api.get(f"/mcp-servers/{mcp_id}").json() == {"code": "ENTITY_NOT_FOUND", "params": {"entityId": mcp_id, "entityType": "MCP"}}


def test_tables_fields_records(api: Api) -> None:
    table = api.post("/tables", json={"name": "Leads"}).json()
    tid = table["id"]
    email = api.post("/fields", json={"name": "Email", "type": "TEXT", "tableId": tid})
    assert email.status_code == 201
    score = api.post("/fields", json={"name": "Score", "type": "NUMBER", "tableId": tid}).json()
    made = api.post("/records", json={"tableId": tid, "records": [
        [{"fieldId": email.json()["id"], "value": "a@b.co"}, {"fieldId": score["id"], "value": 5}],
        [{"fieldId": email.json()["id"], "value": "c@d.co"}, {"fieldId": score["id"], "value": 15}, {"fieldId": "nope", "value": 1}],
    ]})
    assert made.status_code == 201 and made.json()[0]["cells"][score["id"]]["value"] == "5"
    assert set(made.json()[1]["cells"]) == {email.json()["id"], score["id"]}
    q = f"tableId={tid}&filters[0][fieldId]={score['id']}&filters[0][operator]=gt&filters[0][value]=10"
    assert [r["cells"][score["id"]]["value"] for r in api.get("/records?" + q).json()["data"]] == ["15"]
    page = api.get("/records", params={"tableId": tid, "limit": 1}).json()
    assert len(page["data"]) == 1 and page["next"] is None and page["previous"] is None
    assert api.get("/records", params={"tableId": "AAAAAAAAAAAAAAAAAAAAA"}).json() == {"data": [], "next": None, "previous": None}
    rid = made.json()[0]["id"]
    assert api.post(f"/records/{rid}", json={"tableId": tid, "cells": [{"fieldId": score["id"], "value": "7"}]}).json()["cells"][score["id"]]["value"] == "7"
    assert api.get("/tables", params={"name": "lea"}).json()["data"][0]["id"] == tid
    assert api.get(f"/tables/{tid}/export").json()["rows"][0] == {"Email": "a@b.co", "Score": "7"}
    assert api.request("DELETE", "/records", json={"ids": [rid]}).status_code == 204
    assert api.post(f"/tables/{tid}/clear").status_code == 204
    assert api.get("/records", params={"tableId": tid}).json()["data"] == []
    big = [[{"fieldId": score["id"], "value": i}] for i in range(1501)]
    full = api.post("/records", json={"tableId": tid, "records": big})
    assert full.status_code == 409 and full.json()["code"] == "VALIDATION"
    assert api.get("/tables/AAAAAAAAAAAAAAAAAAAAA").json()["params"] == {"entityType": "Table", "entityId": "AAAAAAAAAAAAAAAAAAAAA"}
    assert api.delete(f"/tables/{tid}").status_code == 204


ENGINE_FIELD = ["id", "created", "updated", "name", "type", "tableId", "projectId", "externalId", "data"]
"""The engine's answer to POST /v1/fields, in its key order (a TEXT field: `data` is null)."""


def test_field_answers_have_the_engines_shape(api: Api) -> None:
    tid = api.post("/tables", json={"name": "Shapes"}).json()["id"]
    text = api.post("/fields", json={"name": "Email", "type": "TEXT", "tableId": tid})
    assert text.status_code == 201
    assert list(text.json()) == ENGINE_FIELD and text.json()["data"] is None
    assert text.json()["tableId"] == tid and text.json()["type"] == "TEXT"
    options = {"options": [{"value": "hot"}, {"value": "cold"}]}
    dropdown = api.post("/fields", json={"name": "Lead", "type": "STATIC_DROPDOWN", "tableId": tid, "data": options})
    assert list(dropdown.json()) == ENGINE_FIELD and dropdown.json()["data"] == options
    listed = api.get("/fields", params={"tableId": tid}).json()
    assert [f["data"] for f in listed] == [None, options]
    assert api.get(f"/fields/{text.json()['id']}").json() == text.json()


ENGINE_PIECE = ["id", "displayName", "logoUrl", "actions", "triggers", "categories", "description", "authors",
                "minimumSupportedRelease", "name", "version", "directoryPath", "projectUsage", "pieceType",
                "packageType", "created", "updated"]
"""A GET /v1/pieces item of the 0.72.4 engine (reference transcript), in its key order."""


def test_pieces_listing_items_have_the_engines_shape(api: Api) -> None:
    pieces = api.get("/pieces").json()
    assert pieces and all(list(p) == ENGINE_PIECE for p in pieces)
    by_name = {p["name"]: p["directoryPath"] for p in pieces}
    assert by_name["@activepieces/piece-webhook"].endswith("/dist/packages/pieces/community/webhook")
    assert all(path.startswith("/") for path in by_name.values())


def test_small_routes(engine: ImbraceLocal, api: Api) -> None:
    pieces = api.get("/pieces", params={"limit": 3}).json()
    assert isinstance(pieces, list) and any(p["name"] == "@activepieces/piece-webhook" for p in pieces)
    piece = api.get("/pieces/@activepieces/piece-webhook").json()
    assert "catch_webhook" in piece["triggers"]
    assert api.get("/trigger-runs/status").json() == {"pieces": {}}
    flow_id = api.flow(actions=[])
    api.post(f"/webhooks/{flow_id}", json={})
    stats = api.get("/trigger-runs/status").json()["pieces"]["@activepieces/piece-webhook"]
    assert stats["totalRuns"] == 1
    assert api.get("/user-invitations", params={"type": "PROJECT"}).json() == {"data": [], "next": None, "previous": None}
    assert api.get("/user-invitations").json()["message"] == "querystring must have required property 'type'"
    assert api.get("/user-invitations", params={"type": "X"}).json()["code"] == "FST_ERR_VALIDATION"
    assert api.delete("/user-invitations/AAAAAAAAAAAAAAAAAAAAA").status_code == 404
    assert api.get("/flags").json()["CURRENT_VERSION"] == "0.72.4"
    health = httpx.get(engine.url + "/")
    assert health.status_code == 200 and health.json()["status"] == "ok"


def test_routing_conventions_and_error_shapes(engine: ImbraceLocal, api: Api) -> None:
    assert api.get("/flows/").status_code == 200
    alias = httpx.get(engine.url + "/activepieces/api/v1/flows", headers={"x-api-key": engine.api_key})
    assert alias.status_code == 200
    missing = api.get("/no-such-route")
    assert (missing.status_code, missing.json()) == (404, {"statusCode": 404, "error": "Not Found", "message": "Route not found"})
    assert api.put("/flows", json={}).status_code == 404
    empty = api.post("/flows", content=b"", headers={"content-type": "application/json"})
    assert empty.status_code == 400 and empty.json()["code"] == "FST_ERR_CTP_EMPTY_JSON_BODY"
    broken = api.post("/flows", content=b"{oops", headers={"content-type": "application/json"})
    assert broken.status_code == 400 and broken.json()["statusCode"] == 400
    assert api.post("/flows").json()["message"] == "body must be object"
    media = api.post("/flows", content=b"<x/>", headers={"content-type": "application/xml"})
    assert media.status_code == 415
    spec = httpx.get(engine.url + "/activepieces/openapi.json").json()
    assert "/activepieces/v1/flows/{id}" in spec["paths"]
    assert httpx.get(engine.url + "/channel-service/v1/workflows/channel_automation",
                     headers={"x-api-key": engine.api_key}).json() == {"data": []}


def test_connection_owners_and_replace(api: Api) -> None:
    source = api.post("/app-connections", json=SECRET).json()
    target = api.post("/app-connections", json={**SECRET, "externalId": "slack-new",
                                                "value": {"type": "SECRET_TEXT", "secret_text": "new"}}).json()
    reply = {"name": "step_1", "type": "PIECE", "valid": True, "displayName": "Reply",
             "settings": {"pieceName": "@activepieces/piece-webhook", "pieceVersion": "~0.1.25",
                          "actionName": "return_response", "propertySettings": {},
                          "input": {"fields": {"status": 200, "body": {"k": "{{connections['slack-main']}}"}}}}}
    flow_id = api.flow(actions=[reply])
    owners = api.get("/app-connections/owners").json()["data"]
    assert owners == [{"firstName": "Dashboard", "lastName": "User", "email": owners[0]["email"]}]
    r = api.post("/app-connections/replace", json={"sourceAppConnectionId": source["id"], "targetAppConnectionId": target["id"]})
    assert r.status_code == 200 and r.content == b""
    assert api.get(f"/app-connections/{source['id']}").status_code == 404
    draft = api.get(f"/flows/{flow_id}").json()["version"]
    assert draft["connectionIds"] == ["slack-new"] and draft["state"] == "DRAFT"
    api.op(flow_id, "LOCK_AND_PUBLISH", {})
    assert api.post(f"/webhooks/{flow_id}/sync", json={}).json() == {"k": "new"}


def test_piece_categories_and_resume_requests(api: Api) -> None:
    assert "CORE" in api.get("/pieces/categories").json()
    flow_id = api.flow(actions=[])
    api.post(f"/webhooks/{flow_id}", json={})
    run_id = api.wait_run(api.runs_of(flow_id)[0]["id"])["id"]
    ack = api.post(f"/flow-runs/{run_id}/requests/req1", json={})
    assert ack.json() == {"message": "Your response has been recorded. You can close this page now."}
    sync = api.get(f"/flow-runs/{run_id}/requests/req1/sync")
    assert (sync.status_code, sync.json()) == (409, {"message": "Flow run is not paused", "flowRunStatus": "SUCCEEDED"})
    unknown = api.get("/flow-runs/AAAAAAAAAAAAAAAAAAAAA/requests/x/sync")  # the engine reads the run first
    assert (unknown.status_code, unknown.json()["code"]) == (400, "FLOW_RUN_NOT_FOUND")


def test_connection_for_a_registry_piece_local_cannot_run_is_accepted(api):
    """The SDK page's Slack example must work offline; unknown pieces still get 404."""
    slack = {**SECRET, "externalId": "slack-registry", "pieceName": "@activepieces/piece-slack"}
    created = api.post("/app-connections", json=slack)
    assert created.status_code == 201
    assert created.json()["pieceName"] == "@activepieces/piece-slack"
    assert "value" not in created.json()
    assert all(p["name"] != "@activepieces/piece-slack" for p in api.get("/pieces").json())
