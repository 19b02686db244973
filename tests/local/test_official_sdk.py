"""The official `imbrace` SDK 1.3.1, used unchanged, against Imbrace Local: every workflows method."""

from __future__ import annotations

import time

import httpx
import pytest
from imbrace import AsyncImbraceClient, ImbraceClient
from imbrace.exceptions import ApiError

from prefect_imbrace.local import ImbraceLocal

from .conftest import return_response, webhook_trigger


def test_every_workflows_method(engine: ImbraceLocal) -> None:
    with ImbraceClient(gateway=engine.url, api_key=engine.api_key) as client:
        wf = client.workflows
        assert wf.resolve_project_id() == engine.project_id
        assert wf.list_channel_automation() == {"data": []}

        flow = wf.create_flow("SDK flow", engine.project_id)
        fid = flow["id"]
        assert wf.get_flow(fid)["version"]["displayName"] == "SDK flow"
        wf.apply_flow_operation(fid, {"type": "UPDATE_TRIGGER", "request": webhook_trigger()})
        wf.apply_flow_operation(fid, {"type": "ADD_ACTION", "request": {
            "parentStep": "trigger", "action": return_response(body={"echo": "{{trigger.body.x}}"})}})
        published = wf.apply_flow_operation(fid, {"type": "LOCK_AND_PUBLISH", "request": {}})
        assert published["status"] == "ENABLED"
        assert wf.list_flows(limit=5, status="ENABLED")["data"][0]["id"] == fid

        assert wf.trigger_flow_sync(fid, {"x": 42}) == {"echo": 42}
        assert wf.trigger_flow(fid, {"x": 1}) == {}
        deadline = time.monotonic() + 10
        runs = wf.list_runs(flow_id=fid, status="SUCCEEDED")
        while len(runs["data"]) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
            runs = wf.list_runs(flow_id=fid, status="SUCCEEDED")
        assert len(runs["data"]) == 2 and "steps" not in runs["data"][0]
        assert wf.get_run(runs["data"][0]["id"])["steps"]["trigger"]["output"]["body"]["x"] in (1, 42)

        folder = wf.create_folder("SDK folder", engine.project_id)
        assert wf.get_folder(folder["id"])["displayName"] == "SDK folder"
        assert wf.update_folder(folder["id"], "Renamed")["displayName"] == "Renamed"
        assert wf.list_folders(limit=10)["data"][0]["id"] == folder["id"]
        assert wf.delete_folder(folder["id"]) is None

        conn = wf.upsert_connection({"externalId": "sdk", "displayName": "SDK", "pieceName": "@activepieces/piece-webhook",
                                     "type": "SECRET_TEXT", "value": {"type": "SECRET_TEXT", "secret_text": "t"}})
        assert wf.get_connection(conn["id"])["value"]["secret_text"] == "t"
        assert wf.list_connections(piece_name="@activepieces/piece-webhook")["data"][0]["id"] == conn["id"]
        assert wf.delete_connection(conn["id"]) is None

        assert any(p["name"] == "@activepieces/piece-webhook" for p in wf.list_pieces())
        assert "@activepieces/piece-webhook" in wf.get_trigger_run_status()["pieces"]
        version_id = wf.get_flow(fid)["version"]["id"]
        assert wf.test_trigger({"flowId": fid, "flowVersionId": version_id, "testStrategy": "SIMULATION"}) is None

        table = httpx.post(engine.engine_url + "/v1/tables", json={"name": "T"}, headers={"x-api-key": engine.api_key}).json()
        assert wf.list_tables()["data"][0]["id"] == table["id"]
        assert wf.get_table(table["id"])["name"] == "T"
        assert wf.list_records(table["id"]) == {"data": [], "next": None, "previous": None}

        mcp = wf.create_mcp_server({"name": "SDK MCP"})
        assert wf.list_mcp_servers()["data"][0]["id"] == mcp["id"]
        assert wf.get_mcp_server(mcp["id"])["name"] == "SDK MCP"
        assert wf.update_mcp_server(mcp["id"], {"name": "Renamed MCP"})["name"] == "Renamed MCP"
        assert wf.rotate_mcp_token(mcp["id"])["token"] != mcp["token"]
        assert wf.delete_mcp_server(mcp["id"]) is None

        assert wf.list_invitations("PROJECT") == {"data": [], "next": None, "previous": None}
        with pytest.raises(ApiError) as missing:
            wf.delete_invitation("AAAAAAAAAAAAAAAAAAAAA")
        assert missing.value.status_code == 404

        assert wf.delete_flow(fid) is None
        with pytest.raises(ApiError) as gone:
            wf.trigger_flow(fid, {})
        assert gone.value.status_code == 410


async def test_async_client(engine: ImbraceLocal) -> None:
    client = AsyncImbraceClient(gateway=engine.url, api_key=engine.api_key)
    try:
        flow = await client.workflows.create_flow("async", engine.project_id)
        assert (await client.workflows.get_flow(flow["id"]))["id"] == flow["id"]
        assert (await client.workflows.list_mcp_servers())["data"] == []
    finally:
        await client.close()
