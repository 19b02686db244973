"""Folders, connections, MCP servers, tables/fields/records, project, pieces, triggers, invitations."""

from __future__ import annotations

import pytest

from prefect_imbrace.client.models import (
    AppConnection,
    Field,
    Folder,
    McpServer,
    Piece,
    Project,
    Record,
    Table,
    TriggerRunStatus,
    UpsertConnectionRequest,
)
from prefect_imbrace.exceptions import ConflictError, NotFoundError

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_folders(fresh, wf):
    folder = await wf.create_folder(display_name="Peer Folder")
    assert isinstance(folder, Folder) and folder.number_of_flows == 0
    again = await wf.create_folder(display_name="peer folder")  # upsert by name
    assert again.id == folder.id
    other = await wf.create_folder(display_name="Other", project_id=fresh.project_id)
    assert (await wf.get_folder(folder_id=folder.id)).display_name == "peer folder"
    renamed = await wf.update_folder(folder_id=folder.id, display_name="Renamed")
    assert renamed.display_name == "Renamed"
    with pytest.raises(ConflictError) as info:
        await wf.update_folder(folder_id=other.id, display_name="renamed")
    assert info.value.code == "VALIDATION" and "used" in str(info.value)
    page = await wf.list_folders()
    assert [f.id for f in page.data] == [folder.id, other.id]
    assert [f.id for f in await wf.collect("iter_folders", limit=1)] == [folder.id, other.id]
    assert await wf.delete_folder(folder_id=folder.id) is None
    with pytest.raises(NotFoundError):
        await wf.delete_folder(folder_id=folder.id)


async def test_connections(fresh, wf, caplog):
    secret = "s3cr3t-value-XYZ"
    created = await wf.upsert_connection(
        body={
            "externalId": "peer_conn_1",
            "displayName": "Peer secret",
            "pieceName": "@activepieces/piece-webhook",
            "type": "SECRET_TEXT",
            "value": {"type": "SECRET_TEXT", "secret_text": secret},
        }
    )
    assert isinstance(created, AppConnection) and created.value is None
    updated = await wf.upsert_connection(
        body=UpsertConnectionRequest(
            external_id="peer_conn_1",
            display_name="Peer secret v2",
            piece_name="@activepieces/piece-webhook",
            value={"secret_text": secret},
        )
    )
    assert updated.id == created.id and updated.display_name == "Peer secret v2"
    full = await wf.get_connection(connection_id=created.id)
    assert full.value.get_secret_value() == {"type": "SECRET_TEXT", "secret_text": secret}
    assert secret not in repr(full)
    listed = await wf.list_connections(piece_name="@activepieces/piece-webhook")
    assert [c.id for c in listed.data] == [created.id] and listed.data[0].value is None
    assert [c.id for c in await wf.collect("iter_connections", display_name="v2")] == [created.id]
    assert await wf.delete_connection(connection_id=created.id) is None
    with pytest.raises(NotFoundError) as info:
        await wf.get_connection(connection_id=created.id)
    assert info.value.params.get("entityType") == "AppConnection"
    with pytest.raises(NotFoundError):
        await wf.upsert_connection(
            body={
                "externalId": "x",
                "displayName": "x",
                "pieceName": "@activepieces/piece-nope",
                "type": "SECRET_TEXT",
                "value": {"type": "SECRET_TEXT", "secret_text": "x"},
            }
        )
    assert secret not in caplog.text


async def test_mcp_servers(fresh, wf, echo_flow, client):
    server = await wf.create_mcp_server(body={"name": "peer mcp"})  # projectId filled in
    assert (
        isinstance(server, McpServer)
        and server.project_id == fresh.project_id
        and server.tools == []
    )
    token = server.token.get_secret_value()
    assert token not in repr(server)
    named = await wf.create_mcp_server(name="second")
    page = await wf.list_mcp_servers()
    assert {s.id for s in page.data} == {server.id, named.id}
    assert [s.id for s in (await wf.list_mcp_servers(project_id=fresh.project_id, name="PEER")).data] == [
        server.id
    ]
    assert len(await wf.collect("iter_mcp_servers", limit=1)) == 2
    assert (await wf.get_mcp_server(mcp_server_id=server.id)).name == "peer mcp"
    flow_id = echo_flow(client)
    updated = await wf.update_mcp_server(
        mcp_server_id=server.id, name="renamed", tools=[{"type": "FLOW", "toolName": "echo", "flowId": flow_id}]
    )
    assert updated.name == "renamed" and [t.flow_id for t in updated.tools] == [flow_id]
    rotated = await wf.rotate_mcp_token(mcp_server_id=server.id)
    assert rotated.token.get_secret_value() != token
    assert await wf.delete_mcp_server(mcp_server_id=server.id) is None
    with pytest.raises(NotFoundError) as info:
        await wf.get_mcp_server(mcp_server_id=server.id)
    assert info.value.params.get("entityType") == "MCP"


async def test_tables_fields_records(fresh, wf):
    table = await wf.create_table(name="Leads", external_id="leads-1")
    assert isinstance(table, Table)
    assert (await wf.get_table(table_id=table.id)).name == "Leads"
    assert (await wf.update_table(table_id=table.id, name="Leads 2")).name == "Leads 2"
    email = await wf.create_field(table_id=table.id, name="Email")
    score = await wf.create_field(table_id=table.id, name="Score", type="NUMBER")
    tier = await wf.create_field(table_id=table.id, name="Tier", type="STATIC_DROPDOWN", options=["gold", "silver"])
    assert isinstance(email, Field) and tier.data == {
        "options": [{"value": "gold"}, {"value": "silver"}]
    }
    assert [f.name for f in await wf.list_fields(table_id=table.id)] == ["Email", "Score", "Tier"]

    rows = await wf.create_records(
        table_id=table.id,
        records=[
            {email.id: "a@b.co", score.id: 5},
            {email.id: "c@d.co", score.id: 12},
            [{"fieldId": email.id, "value": "e@f.co"}],
        ],
    )
    assert len(rows) == 3 and all(isinstance(r, Record) for r in rows)
    assert rows[0].values() == {"Email": "a@b.co", "Score": "5"}
    page = await wf.list_records(table_id=table.id, limit=50)
    assert [r.id for r in page.data] == [r.id for r in rows] and page.next is None
    big = await wf.list_records(
        table_id=table.id, filters=[{"fieldId": score.id, "value": "10", "operator": "gt"}]
    )
    assert [r.id for r in big.data] == [rows[1].id]
    changed = await wf.update_record(record_id=rows[0].id, table_id=table.id, cells={score.id: 7})
    assert changed.values()["Score"] == "7"
    assert (await wf.get_record(record_id=rows[0].id)).values()["Score"] == "7"
    assert await wf.delete_records(ids=[rows[0].id, rows[1].id]) is None
    assert [r.id for r in (await wf.list_records(table_id=table.id)).data] == [rows[2].id]

    assert [t.id for t in (await wf.list_tables(name="leads")).data] == [table.id]
    assert [t.id for t in await wf.collect("iter_tables")] == [table.id]
    assert await wf.delete_table(table_id=table.id) is None
    with pytest.raises(NotFoundError):
        await wf.get_table(table_id=table.id)
    assert (await wf.list_records(table_id=table.id)).data == []


async def test_project_pieces_triggers_invitations(fresh, wf, echo_flow, client):
    project = await wf.get_project()
    assert isinstance(project, Project) and project.id == fresh.project_id
    assert project.external_id == fresh.organization_id
    assert await wf.resolve_project_id() == fresh.project_id

    pieces = await wf.list_pieces()
    assert all(isinstance(p, Piece) for p in pieces)
    assert "@activepieces/piece-webhook" in {p.name for p in pieces}

    flow_id = echo_flow(client)
    await wf.trigger_flow_sync(flow_id=flow_id, payload={"n": 1})
    status = await wf.get_trigger_run_status()
    assert isinstance(status, TriggerRunStatus)

    flow = await wf.get_flow(flow_id=flow_id)
    simulation = await wf.test_trigger(
        body={"flowId": flow_id, "flowVersionId": flow.version.id, "testStrategy": "SIMULATION"}
    )
    assert simulation is None
    page = await wf.test_trigger(
        body={"flowId": flow_id, "flowVersionId": flow.version.id, "testStrategy": "TEST_FUNCTION"}
    )
    assert page is not None and isinstance(page.data, list)

    invitations = await wf.list_invitations(type="PROJECT")
    assert invitations.data == []
    with pytest.raises(NotFoundError):
        await wf.delete_invitation(invitation_id="AAAAAAAAAAAAAAAAAAAAA")


async def test_resolve_project_id_is_cached(fresh, engine, requests_for):
    from prefect_imbrace.client import ImbraceClient

    with ImbraceClient(api_key=engine.api_key, gateway=engine.url) as client:
        first = client.workflows.resolve_project_id()
        assert client.workflows.resolve_project_id() == first
        client.workflows.list_mcp_servers()
        client.workflows.create_mcp_server(name="m")
    assert requests_for(engine, "GET", "/v1/users/projects/") == 1
