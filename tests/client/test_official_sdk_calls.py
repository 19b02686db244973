"""The official SDK's documented calls, run as written against Imbrace Local, sync and async.

Two sources, kept here as text and executed as they stand:

* the Python examples of the SDK's `client.workflows` page (shared/seed/). The page shows the
  first lines of each; the closing lines are completed with what the engine needs, and every
  line the page shows is kept unchanged;
* every signature of the SDK's method map (imbrace-api.md §16, "Method → route map"), called
  positionally in the SDK's order.

Only the line that builds the client differs from code written for the SDK (`CLIENT`). For
`AsyncImbraceClient` each `client.workflows.x(...)` call is awaited, as with the SDK's own async
client; the text is otherwise the same. The page's placeholders ("flow_id", "folder_id",
"project_id") are the ids Imbrace Local gave. Answers come back as typed models, which also
read like the SDK's dicts (`page.get("data", [])`, `flow["id"]`).
"""

from __future__ import annotations

import ast
import inspect
import textwrap
import time
from typing import Any

import pytest
from imbrace_flows import ImbraceFlows

from prefect_imbrace.client import (
    AppConnection,
    AsyncImbraceClient,
    Flow,
    FlowRun,
    Folder,
    ImbraceClient,
    Invitation,
    McpServer,
    Piece,
    Record,
    SeekPage,
    SyncReply,
    Table,
    TriggerReceipt,
)
from prefect_imbrace.client import operations as ops
from prefect_imbrace.client.models import TriggerEvent, TriggerRunStatus
from prefect_imbrace.exceptions import InvalidRequestError, NotFoundError

CLIENT = {
    "sync": "client = ImbraceClient(api_key=API_KEY, gateway=GATEWAY)",
    "async": "client = AsyncImbraceClient(api_key=API_KEY, gateway=GATEWAY)",
}
"""The one line that differs from code written for the official SDK."""

SEED = {
    "list_flows": """
        page = client.workflows.list_flows(limit=10, status="ENABLED", folder_id="folder_id")
        for flow in page.get("data", []):
            print(flow["id"], flow.get("version", {}).get("displayName"))
    """,
    "create_flow": """
        flow = client.workflows.create_flow(
            display_name="New Lead Notification",
            project_id="project_id",
        )
    """,
    "trigger_flow": """
        client.workflows.trigger_flow("flow_id", {
            "contact_id": "contact_123",
        })
    """,
    "list_runs": """
        page = client.workflows.list_runs(
            flow_id="flow_id",
            status="SUCCEEDED",
        )
    """,
    "upsert_connection": """
        conn = client.workflows.upsert_connection({
            "displayName": "Slack Workspace",
            "projectId": "project_id",
            "value": {"api_key": "xoxb-..."},
            "externalId": "slack-workspace",
            "pieceName": "@activepieces/piece-slack",
            "type": "CUSTOM_AUTH",
        })
    """,
    "create_mcp_server": """
        server = client.workflows.create_mcp_server({
            "projectId": "project_id",
            "name": "Support bot",
        })
    """,
}

SEED_ANSWERS: dict[str, tuple[str, Any]] = {
    "list_flows": ("page", SeekPage[Flow]),
    "create_flow": ("flow", Flow),
    "trigger_flow": ("_", TriggerReceipt),
    "list_runs": ("page", SeekPage[FlowRun]),
    "create_mcp_server": ("server", McpServer),
}

SDK_SIGNATURES = {
    "list_flows": ["limit", "cursor", "project_id", "folder_id", "status"],
    "get_flow": ["flow_id"],
    "create_flow": ["display_name", "project_id"],
    "delete_flow": ["flow_id"],
    "apply_flow_operation": ["flow_id", "body"],
    "trigger_flow": ["flow_id", "payload"],
    "trigger_flow_sync": ["flow_id", "payload"],
    "list_runs": ["limit", "cursor", "flow_id", "status", "project_id"],
    "get_run": ["run_id"],
    "list_folders": ["limit", "cursor"],
    "get_folder": ["folder_id"],
    "create_folder": ["display_name", "project_id"],
    "update_folder": ["folder_id", "display_name"],
    "delete_folder": ["folder_id"],
    "list_connections": ["limit", "cursor", "project_id", "piece_name"],
    "get_connection": ["connection_id"],
    "upsert_connection": ["body"],
    "delete_connection": ["connection_id"],
    "list_pieces": ["limit"],
    "get_trigger_run_status": [],
    "test_trigger": ["body"],
    "list_tables": ["limit", "cursor"],
    "get_table": ["table_id"],
    "list_records": ["table_id", "limit", "cursor"],
    "list_mcp_servers": ["project_id"],
    "get_mcp_server": ["mcp_server_id"],
    "create_mcp_server": ["body"],
    "update_mcp_server": ["mcp_server_id", "body"],
    "delete_mcp_server": ["mcp_server_id"],
    "rotate_mcp_token": ["mcp_server_id"],
    "list_invitations": ["type", "limit", "cursor", "project_id"],
    "delete_invitation": ["invitation_id"],
}
"""The official SDK's parameters, in its order (imbrace-api.md §16; `imbrace` 1.3.1)."""

OUR_NAMES = {("apply_flow_operation", "body"): "operation"}
"""Where this client's positional name differs; the SDK's name is accepted as a keyword too."""

METHOD_MAP = """
    flows = client.workflows.list_flows(10, None, project_id, folder_id, "ENABLED")
    flow = client.workflows.get_flow(flow_id)
    created = client.workflows.create_flow("Lead intake", project_id)
    renamed = client.workflows.apply_flow_operation(created["id"], {"type": "CHANGE_NAME", "request": {"displayName": "Lead intake 2"}})
    deleted_flow = client.workflows.delete_flow(created["id"])
    receipt = client.workflows.trigger_flow(flow_id, {"contact_id": "c1"})
    reply = client.workflows.trigger_flow_sync(flow_id, {"contact_id": "c2"})
    runs = client.workflows.list_runs(10, None, flow_id, "SUCCEEDED", project_id)
    run = client.workflows.get_run(runs["data"][0]["id"])
    folders = client.workflows.list_folders(10, None)
    folder = client.workflows.get_folder(folder_id)
    sales = client.workflows.create_folder("Sales", project_id)
    renamed_folder = client.workflows.update_folder(sales["id"], "Sales EU")
    sales_by_name = client.workflows.create_folder("Sales EU")
    deleted_folder = client.workflows.delete_folder(sales["id"])
    conn = client.workflows.upsert_connection(connection)
    conns = client.workflows.list_connections(10, None, project_id, "@activepieces/piece-slack")
    conn_read = client.workflows.get_connection(conn["id"])
    deleted_conn = client.workflows.delete_connection(conn["id"])
    pieces = client.workflows.list_pieces(10)
    trigger_status = client.workflows.get_trigger_run_status()
    tested = client.workflows.test_trigger({"flowId": flow_id, "flowVersionId": flow["version"]["id"], "testStrategy": "TEST_FUNCTION"})
    tables = client.workflows.list_tables(10, None)
    table = client.workflows.get_table(table_id)
    records = client.workflows.list_records(table_id, 10, None)
    server = client.workflows.create_mcp_server({"name": "Support bot"})
    servers = client.workflows.list_mcp_servers(project_id)
    servers_resolved = client.workflows.list_mcp_servers()
    server_read = client.workflows.get_mcp_server(server["id"])
    server_renamed = client.workflows.update_mcp_server(server["id"], {"name": "Support bot 2"})
    server_rotated = client.workflows.rotate_mcp_token(server["id"])
    deleted_server = client.workflows.delete_mcp_server(server["id"])
    invitations = client.workflows.list_invitations("PROJECT", 10, None, project_id)
"""

METHOD_MAP_ANSWERS: dict[str, Any] = {
    "flows": SeekPage[Flow],
    "flow": Flow,
    "created": Flow,
    "renamed": Flow,
    "deleted_flow": type(None),
    "receipt": TriggerReceipt,
    "reply": SyncReply,
    "runs": SeekPage[FlowRun],
    "run": FlowRun,
    "folders": SeekPage[Folder],
    "folder": Folder,
    "sales": Folder,
    "renamed_folder": Folder,
    "sales_by_name": Folder,
    "deleted_folder": type(None),
    "conn": AppConnection,
    "conns": SeekPage[AppConnection],
    "conn_read": AppConnection,
    "deleted_conn": type(None),
    "pieces": list,
    "trigger_status": TriggerRunStatus,
    "tested": SeekPage[TriggerEvent],
    "tables": SeekPage[Table],
    "table": Table,
    "records": SeekPage[Record],
    "server": McpServer,
    "servers": SeekPage[McpServer],
    "servers_resolved": SeekPage[McpServer],
    "server_read": McpServer,
    "server_renamed": McpServer,
    "server_rotated": McpServer,
    "deleted_server": type(None),
    "invitations": SeekPage[Invitation],
}

DELETE_INVITATION = "client.workflows.delete_invitation(invitation_id)"
"""No invitation can be created through the gateway (PROJECT needs project roles, PLATFORM a
platform owner), so the SDK's `delete_invitation` call can only meet the engine's 404."""


class _SdkText(ast.NodeTransformer):
    """Placeholders -> ids; `await` before each `client.workflows.x(...)` for the async client;
    with `by_name`, positional arguments passed by the SDK's parameter names instead."""

    def __init__(self, ids: dict[str, str], awaited: bool, by_name: bool = False):
        self.ids = ids
        self.awaited = awaited
        self.by_name = by_name

    def visit_Constant(self, node: ast.Constant) -> ast.AST:
        if isinstance(node.value, str) and node.value in self.ids:
            return ast.copy_location(ast.Constant(self.ids[node.value]), node)
        return node

    def visit_Call(self, node: ast.Call) -> ast.AST:
        self.generic_visit(node)
        target = node.func
        is_sdk_call = (
            isinstance(target, ast.Attribute)
            and isinstance(target.value, ast.Attribute)
            and target.value.attr == "workflows"
            and isinstance(target.value.value, ast.Name)
            and target.value.value.id == "client"
        )
        if is_sdk_call and self.by_name:
            names = SDK_SIGNATURES[target.attr]
            node.keywords = [
                ast.keyword(name, value) for name, value in zip(names, node.args, strict=False)
            ] + node.keywords
            node.args = []
        if self.awaited and is_sdk_call:
            return ast.copy_location(ast.Await(node), node)
        return node


async def run_as_written(
    text: str, kind: str, namespace: dict[str, Any], ids: dict[str, str], *, by_name: bool = False
) -> None:
    """Execute `text` after `CLIENT[kind]`, like a REPL: a closing bare expression lands in `_`."""
    tree = ast.parse(CLIENT[kind] + "\n" + textwrap.dedent(text))
    last = tree.body[-1]
    if isinstance(last, ast.Expr):
        tree.body[-1] = ast.copy_location(
            ast.Assign(targets=[ast.Name("_", ast.Store())], value=last.value), last
        )
    tree = ast.fix_missing_locations(_SdkText(ids, kind == "async", by_name).visit(tree))
    code = compile(tree, f"<official SDK, {kind}>", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    try:
        pending = eval(code, namespace)  # noqa: S307 - our own fixed text
        if pending is not None:
            await pending
    finally:
        closing = namespace["client"].close()
        if kind == "async":
            await closing


@pytest.fixture
def project(fresh, client):
    """Local with: a folder holding a published, ENABLED echo flow that has run once, a table with a record."""
    wf = client.workflows
    folder = wf.create_folder("Leads")
    flow_id = ImbraceFlows(client).echo("Lead notification")
    wf.apply_flow_operation(flow_id, ops.change_folder(folder.id))
    assert wf.trigger_flow_sync(flow_id, {"contact_id": "c0"}).body is not None
    # the reply comes before the run ends, as on the engine: the examples read an ended run
    deadline = time.monotonic() + 10
    while not any(r.is_terminal for r in wf.list_runs(flow_id=flow_id).data):
        assert time.monotonic() < deadline, "the synced run did not end"
        time.sleep(0.05)
    table = wf.create_table("Contacts")
    field = wf.create_field(table.id, "Email")
    wf.create_records(table.id, [{field.id: "a@b.co"}])
    return {
        "flow_id": flow_id,
        "folder_id": folder.id,
        "project_id": wf.resolve_project_id(),
        "table_id": table.id,
    }


def _namespace(engine, ids: dict[str, str]) -> dict[str, Any]:
    return {
        "ImbraceClient": ImbraceClient,
        "AsyncImbraceClient": AsyncImbraceClient,
        "API_KEY": engine.api_key,
        "GATEWAY": engine.url,
        "invitation_id": "AAAAAAAAAAAAAAAAAAAAA",
        "connection": {
            "externalId": "slack-workspace",
            "displayName": "Slack Workspace",
            "pieceName": "@activepieces/piece-slack",
            "projectId": ids["project_id"],
            "type": "SECRET_TEXT",
            "value": {"type": "SECRET_TEXT", "secret_text": "xoxb-..."},
        },
        **ids,
    }


@pytest.mark.parametrize("kind", ["sync", "async"])
@pytest.mark.parametrize("example", sorted(SEED_ANSWERS))
async def test_seed_example_runs_as_written(engine, project, kind, example):
    namespace = _namespace(engine, project)
    await run_as_written(SEED[example], kind, namespace, project)
    name, model = SEED_ANSWERS[example]
    assert isinstance(namespace[name], model), (example, type(namespace[name]))
    if example == "list_flows":
        assert [f["id"] for f in namespace["page"].get("data", [])] == [project["flow_id"]]
    if example == "create_flow":
        assert namespace["flow"]["projectId"] == project["project_id"]
        assert namespace["flow"].version.display_name == "New Lead Notification"
    if example == "list_runs":
        assert namespace["page"]["data"][0].flow_id == project["flow_id"]


@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_seed_connection_example_meets_the_engines_refusal(engine, project, kind):
    """The page's connection `value` ({"api_key": ...}) is no engine connection value (those
    carry their `type`: {"type": "SECRET_TEXT", "secret_text": ...}), so the engine answers 400,
    as it would to the SDK; the method-map test upserts a valid body positionally."""
    namespace = _namespace(engine, project)
    with pytest.raises(InvalidRequestError, match="anyOf"):
        await run_as_written(SEED["upsert_connection"], kind, namespace, project)


def test_leading_parameters_are_the_sdks_in_its_order(client, aclient):
    for workflows in (client.workflows, aclient.workflows):
        for method, sdk_names in SDK_SIGNATURES.items():
            parameters = list(inspect.signature(getattr(workflows, method)).parameters.values())
            ours = [OUR_NAMES.get((method, name), name) for name in sdk_names]
            assert [p.name for p in parameters[: len(ours)]] == ours, method
            assert all(p.kind is p.POSITIONAL_OR_KEYWORD for p in parameters[: len(ours)]), method
            later = {p.name: p.kind for p in parameters[len(ours) :]}
            assert all(kind is inspect.Parameter.KEYWORD_ONLY for kind in later.values()), method
            assert all(later.get(name) for name in set(sdk_names) - set(ours)), method
    called = {
        line.split("client.workflows.")[1].split("(")[0]
        for line in (METHOD_MAP + "\n" + DELETE_INVITATION).splitlines()
        if "client.workflows." in line
    }
    assert called == set(SDK_SIGNATURES)  # the method map is called in full


@pytest.mark.parametrize("by_name", [False, True], ids=["positional", "sdk-keywords"])
@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_every_method_map_signature(engine, project, kind, by_name):
    """Each SDK signature called positionally in its order, then with the SDK's keyword names."""
    namespace = _namespace(engine, project)
    await run_as_written(METHOD_MAP, kind, namespace, project, by_name=by_name)
    wrong = {
        name: type(namespace[name]).__name__
        for name, model in METHOD_MAP_ANSWERS.items()
        if not isinstance(namespace[name], model)
    }
    assert wrong == {}
    assert all(isinstance(piece, Piece) for piece in namespace["pieces"])
    assert namespace["flows"]["data"][0]["id"] == project["flow_id"]
    assert namespace["renamed"].version.display_name == "Lead intake 2"
    assert namespace["reply"].body == {"echo": {"contact_id": "c2"}}
    assert namespace["run"].steps  # get_run has step outputs
    assert namespace["renamed_folder"].display_name == "Sales EU"
    assert namespace["sales_by_name"].id == namespace["sales"].id  # the engine upserts by name
    assert namespace["conn_read"].value is not None  # the fork route returns the secret
    assert namespace["server_renamed"].name == "Support bot 2"
    assert (
        namespace["server_rotated"].token.get_secret_value()
        != namespace["server"].token.get_secret_value()
    )
    assert namespace["records"]["data"][0]["tableId"] == project["table_id"]
    assert namespace["servers"]["data"][0].id == namespace["server"].id


@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_delete_invitation_reaches_the_route(engine, project, kind):
    namespace = _namespace(engine, project)
    with pytest.raises(NotFoundError, match="UserInvitation"):
        await run_as_written(DELETE_INVITATION, kind, namespace, project)


def test_tasks_take_the_same_leading_parameters(client):
    """Each Prefect task (and its async twin) takes, after its credentials, the client method's
    positional parameters in the same order."""
    import prefect_imbrace.tasks as tasks

    checked = 0
    for name in dir(tasks):
        body = getattr(getattr(tasks, name), "fn", None)
        method = name if hasattr(client.workflows, name) else name[1:]
        if body is None or not hasattr(client.workflows, method):
            continue
        ours = [p.name for p in inspect.signature(body).parameters.values()][1:]
        leading = [
            p.name
            for p in inspect.signature(getattr(client.workflows, method)).parameters.values()
            if p.kind is p.POSITIONAL_OR_KEYWORD
        ]
        assert ours[: len(leading)] == leading, name
        checked += 1
    assert checked >= 2 * len(SDK_SIGNATURES)
