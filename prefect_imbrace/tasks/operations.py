"""A Prefect task per client operation, named as in the official SDK.

Every task takes `imbrace_credentials` first, logs one INFO line saying what it does, is
never cached, and works from sync and async flows (see `_dispatch`). Tasks whose results
hold secrets (connection values, MCP tokens) keep them as `SecretStr` and turn result
persistence off.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from prefect_imbrace.tasks._operation import Call, operation
from prefect_imbrace.waiting.outcome import redact_run

if TYPE_CHECKING:
    from prefect_imbrace.credentials import ImbraceCredentials

# -- flows -------------------------------------------------------------------------------------


@operation("List Imbrace flows")
def list_flows(
    imbrace_credentials: ImbraceCredentials,
    limit: int = 10,
    cursor: str | None = None,
    **filters: Any,
) -> Call:
    """One page of Imbrace flows; `filters` are the client's (folder_id, status, name, ...)."""
    return Call("list_flows", limit=limit, cursor=cursor, **filters).log("Listing Imbrace flows.")


@operation("Get Imbrace flow")
def get_flow(
    imbrace_credentials: ImbraceCredentials, flow_id: str, version_id: str | None = None
) -> Call:
    """One Imbrace flow with its latest (or the given) version."""
    return Call("get_flow", flow_id, version_id=version_id).log("Reading Imbrace flow %s.", flow_id)


@operation("Create Imbrace flow")
def create_flow(
    imbrace_credentials: ImbraceCredentials,
    display_name: str,
    folder_id: str | None = None,
    folder_name: str | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> Call:
    """A new, disabled Imbrace flow with an empty trigger."""
    return Call(
        "create_flow", display_name, folder_id=folder_id, folder_name=folder_name, metadata=metadata
    ).log("Creating Imbrace flow %r.", display_name)


@operation("Delete Imbrace flow")
def delete_flow(imbrace_credentials: ImbraceCredentials, flow_id: str) -> Call:
    """Delete an Imbrace flow (the engine finishes the deletion in the background)."""
    return Call("delete_flow", flow_id).log("Deleting Imbrace flow %s.", flow_id)


@operation("Apply Imbrace flow operation")
def apply_flow_operation(
    imbrace_credentials: ImbraceCredentials, flow_id: str, operation: Any
) -> Call:
    """Apply one flow operation (`prefect_imbrace.client.operations` builds them)."""
    kind = operation.get("type") if isinstance(operation, Mapping) else getattr(operation, "type", "?")
    return Call("apply_flow_operation", flow_id, operation).log(
        "Applying %s to Imbrace flow %s.", kind, flow_id
    )


@operation("Trigger Imbrace flow")
def trigger_flow(
    imbrace_credentials: ImbraceCredentials,
    flow_id: str,
    payload: Any = None,
    headers: Mapping[str, str] | None = None,
    draft: bool = False,
) -> Call:
    """Fire the flow's webhook once and return the receipt (no run id: the engine gives none).

    This is a single POST, never re-sent. To run a flow exactly once and get its outcome,
    use `trigger_flow_and_wait`.
    """
    return Call("trigger_flow", flow_id, payload, headers=headers, draft=draft).log(
        "Triggering Imbrace flow %s.", flow_id
    )


@operation("Trigger Imbrace flow synchronously")
def trigger_flow_sync(
    imbrace_credentials: ImbraceCredentials,
    flow_id: str,
    payload: Any = None,
    headers: Mapping[str, str] | None = None,
    draft: bool = False,
    timeout: float | None = None,
) -> Call:
    """Call the flow's sync webhook and return its reply (the engine holds it up to 30 s)."""
    return Call(
        "trigger_flow_sync", flow_id, payload, headers=headers, draft=draft, timeout=timeout
    ).log("Calling Imbrace flow %s synchronously.", flow_id)


# -- runs ----------------------------------------------------------------------------------------


@operation("List Imbrace runs")
def list_runs(
    imbrace_credentials: ImbraceCredentials,
    flow_id: str | list[str] | None = None,
    status: str | list[str] | None = None,
    created_after: datetime | str | None = None,
    limit: int = 10,
    cursor: str | None = None,
    **filters: Any,
) -> Call:
    """One page of production runs, newest first (lists carry no step outputs)."""
    return Call(
        "list_runs", flow_id=flow_id, status=status, created_after=created_after, limit=limit,
        cursor=cursor, **filters,
    ).log("Listing Imbrace runs (flow %s, status %s).", flow_id, status)


@operation("Get Imbrace run")
def get_run(imbrace_credentials: ImbraceCredentials, run_id: str) -> Call:
    """One run with its step outputs; never cached, statuses change.

    The trigger step records the request headers, which through the gateway include the
    caller's `x-access-token`: the task result shows it redacted.
    """
    return Call("get_run", run_id).log("Reading Imbrace run %s.", run_id).returning(redact_run)


@operation("Retry Imbrace run")
def retry_run(
    imbrace_credentials: ImbraceCredentials, run_id: str, strategy: str = "FROM_FAILED_STEP"
) -> Call:
    """Retry a run: FROM_FAILED_STEP resumes the same run; ON_LATEST_VERSION starts a new one."""
    return (
        Call("retry_run", run_id, strategy=strategy)
        .log("Retrying Imbrace run %s (%s).", run_id, strategy)
        .returning(redact_run)
    )


@operation("Cancel Imbrace runs")
def cancel_runs(
    imbrace_credentials: ImbraceCredentials,
    flow_run_ids: list[str] | None = None,
    flow_id: str | list[str] | None = None,
    status: str | list[str] | None = None,
    **filters: Any,
) -> Call:
    """Cancel the selected runs; the engine only cancels QUEUED and PAUSED ones."""
    return Call(
        "cancel_runs", flow_run_ids=flow_run_ids, flow_id=flow_id, status=status, **filters
    ).log("Cancelling Imbrace runs (ids %s, flow %s).", flow_run_ids, flow_id)


@operation("Retry Imbrace runs")
def retry_runs(
    imbrace_credentials: ImbraceCredentials,
    strategy: str = "FROM_FAILED_STEP",
    flow_run_ids: list[str] | None = None,
    flow_id: str | list[str] | None = None,
    status: str | list[str] | None = None,
    **filters: Any,
) -> Call:
    """Retry every selected run at once (a selector is required: the engine would take all)."""
    return Call(
        "retry_runs", strategy, flow_run_ids=flow_run_ids, flow_id=flow_id, status=status, **filters
    ).log("Retrying Imbrace runs (%s; ids %s, flow %s).", strategy, flow_run_ids, flow_id)


@operation("Archive Imbrace runs")
def archive_runs(
    imbrace_credentials: ImbraceCredentials,
    flow_run_ids: list[str] | None = None,
    flow_id: str | list[str] | None = None,
    status: str | list[str] | None = None,
    **filters: Any,
) -> Call:
    """Archive the selected runs (hidden from `list_runs(archived=False)`, kept otherwise)."""
    return Call(
        "archive_runs", flow_run_ids=flow_run_ids, flow_id=flow_id, status=status, **filters
    ).log("Archiving Imbrace runs (ids %s, flow %s).", flow_run_ids, flow_id)


# -- folders -------------------------------------------------------------------------------------


@operation("List Imbrace folders")
def list_folders(
    imbrace_credentials: ImbraceCredentials, limit: int = 10, cursor: str | None = None
) -> Call:
    """One page of folders, oldest first."""
    return Call("list_folders", limit=limit, cursor=cursor).log("Listing Imbrace folders.")


@operation("Get Imbrace folder")
def get_folder(imbrace_credentials: ImbraceCredentials, folder_id: str) -> Call:
    """One folder."""
    return Call("get_folder", folder_id).log("Reading Imbrace folder %s.", folder_id)


@operation("Create Imbrace folder")
def create_folder(imbrace_credentials: ImbraceCredentials, display_name: str) -> Call:
    """Create a folder, or return the one with that name (the engine upserts by name)."""
    return Call("create_folder", display_name).log("Creating Imbrace folder %r.", display_name)


@operation("Update Imbrace folder")
def update_folder(
    imbrace_credentials: ImbraceCredentials, folder_id: str, display_name: str
) -> Call:
    """Rename a folder."""
    return Call("update_folder", folder_id, display_name).log(
        "Renaming Imbrace folder %s to %r.", folder_id, display_name
    )


@operation("Delete Imbrace folder")
def delete_folder(imbrace_credentials: ImbraceCredentials, folder_id: str) -> Call:
    """Delete a folder; its flows become uncategorised."""
    return Call("delete_folder", folder_id).log("Deleting Imbrace folder %s.", folder_id)


# -- connections ---------------------------------------------------------------------------------


@operation("List Imbrace connections")
def list_connections(
    imbrace_credentials: ImbraceCredentials,
    limit: int = 10,
    cursor: str | None = None,
    piece_name: str | None = None,
    **filters: Any,
) -> Call:
    """One page of app connections (never with their secret values)."""
    return Call(
        "list_connections", limit=limit, cursor=cursor, piece_name=piece_name, **filters
    ).log("Listing Imbrace connections.")


@operation("Get Imbrace connection", secret=True)
def get_connection(imbrace_credentials: ImbraceCredentials, connection_id: str) -> Call:
    """One connection WITH its secret value (a pydantic `Secret`; never logged or persisted)."""
    return Call("get_connection", connection_id).log(
        "Reading Imbrace connection %s (value kept secret).", connection_id
    )


@operation("Upsert Imbrace connection", secret=True)
def upsert_connection(imbrace_credentials: ImbraceCredentials, body: Any) -> Call:
    """Create or overwrite the connection with the body's `externalId`."""
    external_id = body.get("externalId") if isinstance(body, Mapping) else getattr(body, "external_id", "?")
    return Call("upsert_connection", body).log("Upserting Imbrace connection %r.", external_id)


@operation("Delete Imbrace connection")
def delete_connection(imbrace_credentials: ImbraceCredentials, connection_id: str) -> Call:
    """Delete a connection."""
    return Call("delete_connection", connection_id).log(
        "Deleting Imbrace connection %s.", connection_id
    )


# -- MCP servers ---------------------------------------------------------------------------------


@operation("List Imbrace MCP servers", secret=True)
def list_mcp_servers(
    imbrace_credentials: ImbraceCredentials,
    limit: int = 10,
    cursor: str | None = None,
    name: str | None = None,
) -> Call:
    """One page of MCP servers of the project (tokens are `SecretStr`)."""
    return Call("list_mcp_servers", limit=limit, cursor=cursor, name=name).log(
        "Listing Imbrace MCP servers."
    )


@operation("Get Imbrace MCP server", secret=True)
def get_mcp_server(imbrace_credentials: ImbraceCredentials, mcp_server_id: str) -> Call:
    """One MCP server with its tools (token kept secret)."""
    return Call("get_mcp_server", mcp_server_id).log("Reading Imbrace MCP server %s.", mcp_server_id)


@operation("Create Imbrace MCP server", secret=True)
def create_mcp_server(imbrace_credentials: ImbraceCredentials, name: str) -> Call:
    """A new MCP server with no tools and a fresh token."""
    return Call("create_mcp_server", name=name).log("Creating Imbrace MCP server %r.", name)


@operation("Update Imbrace MCP server", secret=True)
def update_mcp_server(
    imbrace_credentials: ImbraceCredentials,
    mcp_server_id: str,
    name: str | None = None,
    tools: Iterable[Any] | None = None,
) -> Call:
    """Rename a server and/or replace its whole tool list."""
    return Call("update_mcp_server", mcp_server_id, name=name, tools=tools).log(
        "Updating Imbrace MCP server %s.", mcp_server_id
    )


@operation("Delete Imbrace MCP server")
def delete_mcp_server(imbrace_credentials: ImbraceCredentials, mcp_server_id: str) -> Call:
    """Delete an MCP server."""
    return Call("delete_mcp_server", mcp_server_id).log(
        "Deleting Imbrace MCP server %s.", mcp_server_id
    )


# -- tables and records --------------------------------------------------------------------------


@operation("List Imbrace tables")
def list_tables(
    imbrace_credentials: ImbraceCredentials,
    limit: int = 10,
    cursor: str | None = None,
    name: str | None = None,
) -> Call:
    """One page of tables, newest first."""
    return Call("list_tables", limit=limit, cursor=cursor, name=name).log("Listing Imbrace tables.")


@operation("Get Imbrace table")
def get_table(imbrace_credentials: ImbraceCredentials, table_id: str) -> Call:
    """One table (fields are listed by `list_fields`)."""
    return Call("get_table", table_id).log("Reading Imbrace table %s.", table_id)


@operation("Create Imbrace table")
def create_table(
    imbrace_credentials: ImbraceCredentials, name: str, external_id: str | None = None
) -> Call:
    """A new table."""
    return Call("create_table", name, external_id=external_id).log("Creating Imbrace table %r.", name)


@operation("Update Imbrace table")
def update_table(
    imbrace_credentials: ImbraceCredentials,
    table_id: str,
    name: str | None = None,
    trigger: str | None = None,
    status: str | None = None,
) -> Call:
    """Rename a table or change its automation trigger/status."""
    return Call("update_table", table_id, name=name, trigger=trigger, status=status).log(
        "Updating Imbrace table %s.", table_id
    )


@operation("Delete Imbrace table")
def delete_table(imbrace_credentials: ImbraceCredentials, table_id: str) -> Call:
    """Delete a table and its records."""
    return Call("delete_table", table_id).log("Deleting Imbrace table %s.", table_id)


@operation("List Imbrace table fields")
def list_fields(imbrace_credentials: ImbraceCredentials, table_id: str) -> Call:
    """The fields (columns) of a table."""
    return Call("list_fields", table_id).log("Listing fields of Imbrace table %s.", table_id)


@operation("Create Imbrace table field")
def create_field(
    imbrace_credentials: ImbraceCredentials,
    table_id: str,
    name: str,
    type: str = "TEXT",
    options: Iterable[str] | None = None,
) -> Call:
    """Add a field (TEXT, NUMBER, DATE or STATIC_DROPDOWN with `options`)."""
    return Call("create_field", table_id, name, type=type, options=options).log(
        "Adding field %r to Imbrace table %s.", name, table_id
    )


@operation("List Imbrace records")
def list_records(
    imbrace_credentials: ImbraceCredentials,
    table_id: str,
    limit: int = 10,
    filters: Iterable[Mapping[str, Any]] | None = None,
) -> Call:
    """The first `limit` records of a table matching `filters` (oldest first)."""
    return Call("list_records", table_id, limit=limit, filters=filters).log(
        "Listing records of Imbrace table %s.", table_id
    )


@operation("Create Imbrace records")
def create_records(
    imbrace_credentials: ImbraceCredentials, table_id: str, records: Iterable[Any]
) -> Call:
    """Insert records; each is a mapping field id -> value (or a list of cells)."""
    records = list(records)
    return Call("create_records", table_id, records).log(
        "Inserting %s records into Imbrace table %s.", len(records), table_id
    )


@operation("Update Imbrace record")
def update_record(
    imbrace_credentials: ImbraceCredentials, record_id: str, table_id: str, cells: Any
) -> Call:
    """Change cells of one record."""
    return Call("update_record", record_id, table_id=table_id, cells=cells).log(
        "Updating Imbrace record %s.", record_id
    )


@operation("Delete Imbrace records")
def delete_records(imbrace_credentials: ImbraceCredentials, ids: list[str]) -> Call:
    """Delete records by id."""
    return Call("delete_records", ids).log("Deleting %s Imbrace records.", len(ids))


# -- misc ------------------------------------------------------------------------------------------


@operation("List Imbrace pieces")
def list_pieces(imbrace_credentials: ImbraceCredentials, search_query: str | None = None) -> Call:
    """The piece catalogue (integrations available to flows)."""
    return Call("list_pieces", search_query=search_query).log("Listing Imbrace pieces.")


@operation("Get Imbrace trigger run status")
def get_trigger_run_status(imbrace_credentials: ImbraceCredentials) -> Call:
    """Per-piece trigger success/failure counters of the last 14 days."""
    return Call("get_trigger_run_status").log("Reading Imbrace trigger run status.")


@operation("List Imbrace invitations")
def list_invitations(
    imbrace_credentials: ImbraceCredentials, type: str = "PROJECT", limit: int = 10
) -> Call:
    """One page of user invitations of the given type (PROJECT or PLATFORM)."""
    return Call("list_invitations", type=type, limit=limit).log("Listing Imbrace invitations.")


@operation("Delete Imbrace invitation")
def delete_invitation(imbrace_credentials: ImbraceCredentials, invitation_id: str) -> Call:
    """Withdraw a user invitation."""
    return Call("delete_invitation", invitation_id).log(
        "Deleting Imbrace invitation %s.", invitation_id
    )


@operation("Test Imbrace trigger")
def test_trigger(imbrace_credentials: ImbraceCredentials, body: Mapping[str, Any]) -> Call:
    """Run a trigger's test (`TEST_FUNCTION`) or toggle listening (`SIMULATION`) for a version."""
    return Call("test_trigger", body).log(
        "Testing the trigger of Imbrace flow %s.", dict(body).get("flowId")
    )


@operation("Get Imbrace record")
def get_record(imbrace_credentials: ImbraceCredentials, record_id: str) -> Call:
    """One table record with its cells."""
    return Call("get_record", record_id).log("Reading Imbrace record %s.", record_id)


@operation("Get Imbrace project")
def get_project(imbrace_credentials: ImbraceCredentials) -> Call:
    """The project the credentials act in (one per Imbrace organisation)."""
    return Call("get_project").log("Reading the Imbrace project of these credentials.")
