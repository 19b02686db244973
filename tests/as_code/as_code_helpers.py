"""Two tenants of one Imbrace Local (real HTTP): tenant A holds flows built through the API.

A plain module, not conftest, so test files import it by name whatever pytest collected first.
"""

from __future__ import annotations

from dataclasses import dataclass

from prefect_imbrace.client import ImbraceClient
from prefect_imbrace.client import operations as ops
from prefect_imbrace.local import ImbraceLocal

SECRET = "tok-3f9a"  # the connection's secret: read from IMBRACE_SECRET_PING_TOKEN on apply


@dataclass
class Tenant:
    api_key: str
    client: ImbraceClient


@dataclass
class Tenants:
    engine: ImbraceLocal
    a: Tenant
    b: Tenant

    def writes(self) -> int:
        """Requests other than GET the engine has counted (the control plane is not counted)."""
        counts = self.engine.control.counters()["requests"]
        return sum(n for route, n in counts.items() if not route.startswith("GET "))


def build_tenant_a(client: ImbraceClient, url: str) -> dict[str, str]:
    """Flows with a webhook trigger, router, loop, delay, HTTP and Return Response steps, a
    folder, a table with fields, a connection and an MCP server, all made through the API."""
    wf = client.workflows
    folder = wf.create_folder(display_name="Orders")
    wf.upsert_connection(body={
        "externalId": "ping-token", "displayName": "Ping token", "pieceName": "@activepieces/piece-http",
        "type": "SECRET_TEXT", "value": {"type": "SECRET_TEXT", "secret_text": SECRET},
    })
    table = wf.create_table(name="Customers")
    wf.create_field(table_id=table.id, name="Email", type="TEXT")
    wf.create_field(table_id=table.id, name="Score", type="NUMBER")
    wf.create_field(table_id=table.id, name="Tier", type="STATIC_DROPDOWN", options=["gold", "silver"])

    flow = wf.create_flow(display_name="Order intake", folder_id=folder.id)
    steps = [
        ops.update_trigger(trigger=ops.catch_webhook()),
        ops.add_action(parent_step="trigger", action=ops.router(name="route", branches=[
            ops.branch("many", ops.condition(first_value="{{trigger.body.items}}", operator="LIST_IS_NOT_EMPTY")),
            ops.fallback_branch(name="none"),
        ])),
        ops.add_action(parent_step="route", action=ops.loop(name="each", items="{{trigger.body.items}}"), branch_index=0),
        ops.add_action(parent_step="each", action=ops.delay(name="pause", amount=0), location="INSIDE_LOOP"),
        ops.add_action(parent_step="pause", action=ops.http_request(
            name="ping", method="GET", url=url + "/",
            headers={"x-token": "{{connections['ping-token']}}"},
        )),
        ops.add_action(parent_step="each", action=ops.return_response(
            name="reply_many", status=201,
            body={"count": "{{each.index}}", "last": "{{each.item}}", "service": "{{ping.body.service}}"},
        ), location="AFTER"),
        ops.add_action(parent_step="route", action=ops.return_response(
            name="reply_none", body={"none": True, "got": "{{trigger.body}}"},
        ), branch_index=1),
        ops.lock_and_publish(),
    ]
    for step in steps:
        wf.apply_flow_operation(flow_id=flow.id, operation=step)
    echo = wf.create_flow(display_name="Echo")
    for step in (
        ops.update_trigger(trigger=ops.catch_webhook()),
        ops.add_action(parent_step="trigger", action=ops.return_response(name="reply", body={"echo": "{{trigger.body}}"})),
        ops.lock_and_publish(),
    ):
        wf.apply_flow_operation(flow_id=echo.id, operation=step)
    server = wf.create_mcp_server(name="Support bot")
    wf.update_mcp_server(mcp_server_id=server.id, tools=[
        {"type": "FLOW", "toolName": "Echo", "flowId": echo.id},
        {"type": "PIECE", "toolName": "send_request", "pieceMetadata": {
            "pieceName": "@activepieces/piece-http", "pieceVersion": "0.9.5",
            "actionName": "send_request", "actionDisplayName": "Send HTTP request",
            "logoUrl": "https://cdn.activepieces.com/pieces/http.png"}},
    ])
    return {"order-intake": flow.id, "echo": echo.id}
