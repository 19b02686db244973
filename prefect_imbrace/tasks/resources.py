"""Tasks for folders, connections, MCP servers, pieces, trigger tests, invitations and the
project: each a sync task and its async twin `a<name>`. Tasks whose results hold secrets
(connection values, MCP tokens) never persist their result."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Literal

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from prefect_imbrace.tasks._clients import async_client_of, client_of

if TYPE_CHECKING:
    from prefect_imbrace.client import (
        AppConnection,
        Folder,
        Invitation,
        McpServer,
        Piece,
        Project,
        SeekPage,
        UpsertConnectionRequest,
    )
    from prefect_imbrace.client.models import (
        McpToolInput,
        TestTriggerRequest,
        TriggerEvent,
        TriggerRunStatus,
    )
    from prefect_imbrace.credentials import ImbraceCredentials


def _external_id(body: Any) -> Any:
    if isinstance(body, Mapping):
        return body.get("externalId")
    return getattr(body, "external_id", "?")


def _name_of(body: Mapping[str, Any] | None, name: str | None) -> Any:
    if name is not None:
        return name
    return body.get("name") if isinstance(body, Mapping) else None


def _flow_id_of(body: Any) -> Any:
    if isinstance(body, Mapping):
        return body.get("flowId")
    return getattr(body, "flow_id", "?")


@task(name="List Imbrace folders", cache_policy=NO_CACHE)
def list_folders(
    imbrace_credentials: ImbraceCredentials, limit: int = 10, cursor: str | None = None
) -> SeekPage[Folder]:
    """One page of folders, oldest first."""
    get_run_logger().info("Listing Imbrace folders.")
    with client_of(imbrace_credentials) as client:
        return client.workflows.list_folders(limit=limit, cursor=cursor)


@task(name="List Imbrace folders", cache_policy=NO_CACHE)
async def alist_folders(
    imbrace_credentials: ImbraceCredentials, limit: int = 10, cursor: str | None = None
) -> SeekPage[Folder]:
    """Async twin of `list_folders`."""
    get_run_logger().info("Listing Imbrace folders.")
    async with async_client_of(imbrace_credentials) as client:
        return await client.workflows.list_folders(limit=limit, cursor=cursor)


@task(name="Get Imbrace folder", cache_policy=NO_CACHE)
def get_folder(imbrace_credentials: ImbraceCredentials, folder_id: str) -> Folder:
    """One folder."""
    get_run_logger().info("Reading Imbrace folder %s.", folder_id)
    with client_of(imbrace_credentials) as client:
        return client.workflows.get_folder(folder_id=folder_id)


@task(name="Get Imbrace folder", cache_policy=NO_CACHE)
async def aget_folder(imbrace_credentials: ImbraceCredentials, folder_id: str) -> Folder:
    """Async twin of `get_folder`."""
    get_run_logger().info("Reading Imbrace folder %s.", folder_id)
    async with async_client_of(imbrace_credentials) as client:
        return await client.workflows.get_folder(folder_id=folder_id)


@task(name="Create Imbrace folder", cache_policy=NO_CACHE)
def create_folder(
    imbrace_credentials: ImbraceCredentials, display_name: str, project_id: str | None = None
) -> Folder:
    """Create a folder, or return the one with that name (the engine upserts by name)."""
    get_run_logger().info("Creating Imbrace folder %r.", display_name)
    with client_of(imbrace_credentials) as client:
        return client.workflows.create_folder(display_name, project_id)


@task(name="Create Imbrace folder", cache_policy=NO_CACHE)
async def acreate_folder(
    imbrace_credentials: ImbraceCredentials, display_name: str, project_id: str | None = None
) -> Folder:
    """Async twin of `create_folder`."""
    get_run_logger().info("Creating Imbrace folder %r.", display_name)
    async with async_client_of(imbrace_credentials) as client:
        return await client.workflows.create_folder(display_name, project_id)


@task(name="Update Imbrace folder", cache_policy=NO_CACHE)
def update_folder(
    imbrace_credentials: ImbraceCredentials, folder_id: str, display_name: str
) -> Folder:
    """Rename a folder."""
    get_run_logger().info("Renaming Imbrace folder %s to %r.", folder_id, display_name)
    with client_of(imbrace_credentials) as client:
        return client.workflows.update_folder(folder_id=folder_id, display_name=display_name)


@task(name="Update Imbrace folder", cache_policy=NO_CACHE)
async def aupdate_folder(
    imbrace_credentials: ImbraceCredentials, folder_id: str, display_name: str
) -> Folder:
    """Async twin of `update_folder`."""
    get_run_logger().info("Renaming Imbrace folder %s to %r.", folder_id, display_name)
    async with async_client_of(imbrace_credentials) as client:
        return await client.workflows.update_folder(folder_id=folder_id, display_name=display_name)


@task(name="Delete Imbrace folder", cache_policy=NO_CACHE)
def delete_folder(imbrace_credentials: ImbraceCredentials, folder_id: str) -> None:
    """Delete a folder; its flows become uncategorised."""
    get_run_logger().info("Deleting Imbrace folder %s.", folder_id)
    with client_of(imbrace_credentials) as client:
        client.workflows.delete_folder(folder_id=folder_id)


@task(name="Delete Imbrace folder", cache_policy=NO_CACHE)
async def adelete_folder(imbrace_credentials: ImbraceCredentials, folder_id: str) -> None:
    """Async twin of `delete_folder`."""
    get_run_logger().info("Deleting Imbrace folder %s.", folder_id)
    async with async_client_of(imbrace_credentials) as client:
        await client.workflows.delete_folder(folder_id=folder_id)


@task(name="List Imbrace connections", cache_policy=NO_CACHE)
def list_connections(
    imbrace_credentials: ImbraceCredentials,
    limit: int = 10,
    cursor: str | None = None,
    project_id: str | None = None,
    piece_name: str | None = None,
    **filters: Any,
) -> SeekPage[AppConnection]:
    """One page of app connections (never with their secret values)."""
    get_run_logger().info("Listing Imbrace connections.")
    with client_of(imbrace_credentials) as client:
        return client.workflows.list_connections(limit, cursor, project_id, piece_name, **filters)


@task(name="List Imbrace connections", cache_policy=NO_CACHE)
async def alist_connections(
    imbrace_credentials: ImbraceCredentials,
    limit: int = 10,
    cursor: str | None = None,
    project_id: str | None = None,
    piece_name: str | None = None,
    **filters: Any,
) -> SeekPage[AppConnection]:
    """Async twin of `list_connections`."""
    get_run_logger().info("Listing Imbrace connections.")
    async with async_client_of(imbrace_credentials) as client:
        return await client.workflows.list_connections(
            limit, cursor, project_id, piece_name, **filters
        )


@task(name="Get Imbrace connection", cache_policy=NO_CACHE, persist_result=False)
def get_connection(imbrace_credentials: ImbraceCredentials, connection_id: str) -> AppConnection:
    """One connection WITH its secret value (a pydantic `Secret`; never logged or persisted)."""
    get_run_logger().info("Reading Imbrace connection %s (value kept secret).", connection_id)
    with client_of(imbrace_credentials) as client:
        return client.workflows.get_connection(connection_id=connection_id)


@task(name="Get Imbrace connection", cache_policy=NO_CACHE, persist_result=False)
async def aget_connection(
    imbrace_credentials: ImbraceCredentials, connection_id: str
) -> AppConnection:
    """Async twin of `get_connection`."""
    get_run_logger().info("Reading Imbrace connection %s (value kept secret).", connection_id)
    async with async_client_of(imbrace_credentials) as client:
        return await client.workflows.get_connection(connection_id=connection_id)


@task(name="Upsert Imbrace connection", cache_policy=NO_CACHE, persist_result=False)
def upsert_connection(
    imbrace_credentials: ImbraceCredentials, body: UpsertConnectionRequest | Mapping[str, Any]
) -> AppConnection:
    """Create or overwrite the connection with the body's `externalId`."""
    get_run_logger().info("Upserting Imbrace connection %r.", _external_id(body))
    with client_of(imbrace_credentials) as client:
        return client.workflows.upsert_connection(body=body)


@task(name="Upsert Imbrace connection", cache_policy=NO_CACHE, persist_result=False)
async def aupsert_connection(
    imbrace_credentials: ImbraceCredentials, body: UpsertConnectionRequest | Mapping[str, Any]
) -> AppConnection:
    """Async twin of `upsert_connection`."""
    get_run_logger().info("Upserting Imbrace connection %r.", _external_id(body))
    async with async_client_of(imbrace_credentials) as client:
        return await client.workflows.upsert_connection(body=body)


@task(name="Delete Imbrace connection", cache_policy=NO_CACHE)
def delete_connection(imbrace_credentials: ImbraceCredentials, connection_id: str) -> None:
    """Delete a connection."""
    get_run_logger().info("Deleting Imbrace connection %s.", connection_id)
    with client_of(imbrace_credentials) as client:
        client.workflows.delete_connection(connection_id=connection_id)


@task(name="Delete Imbrace connection", cache_policy=NO_CACHE)
async def adelete_connection(imbrace_credentials: ImbraceCredentials, connection_id: str) -> None:
    """Async twin of `delete_connection`."""
    get_run_logger().info("Deleting Imbrace connection %s.", connection_id)
    async with async_client_of(imbrace_credentials) as client:
        await client.workflows.delete_connection(connection_id=connection_id)


@task(name="List Imbrace MCP servers", cache_policy=NO_CACHE, persist_result=False)
def list_mcp_servers(
    imbrace_credentials: ImbraceCredentials,
    project_id: str | None = None,
    limit: int = 10,
    cursor: str | None = None,
    name: str | None = None,
) -> SeekPage[McpServer]:
    """One page of MCP servers of the project (tokens are `SecretStr`)."""
    get_run_logger().info("Listing Imbrace MCP servers.")
    with client_of(imbrace_credentials) as client:
        return client.workflows.list_mcp_servers(project_id, limit=limit, cursor=cursor, name=name)


@task(name="List Imbrace MCP servers", cache_policy=NO_CACHE, persist_result=False)
async def alist_mcp_servers(
    imbrace_credentials: ImbraceCredentials,
    project_id: str | None = None,
    limit: int = 10,
    cursor: str | None = None,
    name: str | None = None,
) -> SeekPage[McpServer]:
    """Async twin of `list_mcp_servers`."""
    get_run_logger().info("Listing Imbrace MCP servers.")
    async with async_client_of(imbrace_credentials) as client:
        return await client.workflows.list_mcp_servers(
            project_id, limit=limit, cursor=cursor, name=name
        )


@task(name="Get Imbrace MCP server", cache_policy=NO_CACHE, persist_result=False)
def get_mcp_server(imbrace_credentials: ImbraceCredentials, mcp_server_id: str) -> McpServer:
    """One MCP server with its tools (token kept secret)."""
    get_run_logger().info("Reading Imbrace MCP server %s.", mcp_server_id)
    with client_of(imbrace_credentials) as client:
        return client.workflows.get_mcp_server(mcp_server_id=mcp_server_id)


@task(name="Get Imbrace MCP server", cache_policy=NO_CACHE, persist_result=False)
async def aget_mcp_server(imbrace_credentials: ImbraceCredentials, mcp_server_id: str) -> McpServer:
    """Async twin of `get_mcp_server`."""
    get_run_logger().info("Reading Imbrace MCP server %s.", mcp_server_id)
    async with async_client_of(imbrace_credentials) as client:
        return await client.workflows.get_mcp_server(mcp_server_id=mcp_server_id)


@task(name="Create Imbrace MCP server", cache_policy=NO_CACHE, persist_result=False)
def create_mcp_server(
    imbrace_credentials: ImbraceCredentials,
    body: Mapping[str, Any] | None = None,
    name: str | None = None,
) -> McpServer:
    """A new MCP server with no tools and a fresh token: `body` `{"name": ...}` or `name=`."""
    get_run_logger().info("Creating Imbrace MCP server %r.", _name_of(body, name))
    with client_of(imbrace_credentials) as client:
        return client.workflows.create_mcp_server(body, name=name)


@task(name="Create Imbrace MCP server", cache_policy=NO_CACHE, persist_result=False)
async def acreate_mcp_server(
    imbrace_credentials: ImbraceCredentials,
    body: Mapping[str, Any] | None = None,
    name: str | None = None,
) -> McpServer:
    """Async twin of `create_mcp_server`."""
    get_run_logger().info("Creating Imbrace MCP server %r.", _name_of(body, name))
    async with async_client_of(imbrace_credentials) as client:
        return await client.workflows.create_mcp_server(body, name=name)


@task(name="Update Imbrace MCP server", cache_policy=NO_CACHE, persist_result=False)
def update_mcp_server(
    imbrace_credentials: ImbraceCredentials,
    mcp_server_id: str,
    body: Mapping[str, Any] | None = None,
    name: str | None = None,
    tools: Iterable[McpToolInput | Mapping[str, Any]] | None = None,
) -> McpServer:
    """Rename a server and/or replace its whole tool list."""
    get_run_logger().info("Updating Imbrace MCP server %s.", mcp_server_id)
    with client_of(imbrace_credentials) as client:
        return client.workflows.update_mcp_server(mcp_server_id, body, name=name, tools=tools)


@task(name="Update Imbrace MCP server", cache_policy=NO_CACHE, persist_result=False)
async def aupdate_mcp_server(
    imbrace_credentials: ImbraceCredentials,
    mcp_server_id: str,
    body: Mapping[str, Any] | None = None,
    name: str | None = None,
    tools: Iterable[McpToolInput | Mapping[str, Any]] | None = None,
) -> McpServer:
    """Async twin of `update_mcp_server`."""
    get_run_logger().info("Updating Imbrace MCP server %s.", mcp_server_id)
    async with async_client_of(imbrace_credentials) as client:
        return await client.workflows.update_mcp_server(mcp_server_id, body, name=name, tools=tools)


@task(name="Delete Imbrace MCP server", cache_policy=NO_CACHE)
def delete_mcp_server(imbrace_credentials: ImbraceCredentials, mcp_server_id: str) -> None:
    """Delete an MCP server."""
    get_run_logger().info("Deleting Imbrace MCP server %s.", mcp_server_id)
    with client_of(imbrace_credentials) as client:
        client.workflows.delete_mcp_server(mcp_server_id=mcp_server_id)


@task(name="Delete Imbrace MCP server", cache_policy=NO_CACHE)
async def adelete_mcp_server(imbrace_credentials: ImbraceCredentials, mcp_server_id: str) -> None:
    """Async twin of `delete_mcp_server`."""
    get_run_logger().info("Deleting Imbrace MCP server %s.", mcp_server_id)
    async with async_client_of(imbrace_credentials) as client:
        await client.workflows.delete_mcp_server(mcp_server_id=mcp_server_id)


@task(name="List Imbrace pieces", cache_policy=NO_CACHE)
def list_pieces(
    imbrace_credentials: ImbraceCredentials, limit: int = 10, search_query: str | None = None
) -> list[Piece]:
    """The piece catalogue (integrations available to flows)."""
    get_run_logger().info("Listing Imbrace pieces.")
    with client_of(imbrace_credentials) as client:
        return client.workflows.list_pieces(limit, search_query=search_query)


@task(name="List Imbrace pieces", cache_policy=NO_CACHE)
async def alist_pieces(
    imbrace_credentials: ImbraceCredentials, limit: int = 10, search_query: str | None = None
) -> list[Piece]:
    """Async twin of `list_pieces`."""
    get_run_logger().info("Listing Imbrace pieces.")
    async with async_client_of(imbrace_credentials) as client:
        return await client.workflows.list_pieces(limit, search_query=search_query)


@task(name="Get Imbrace trigger run status", cache_policy=NO_CACHE)
def get_trigger_run_status(imbrace_credentials: ImbraceCredentials) -> TriggerRunStatus:
    """Per-piece trigger success/failure counters of the last 14 days."""
    get_run_logger().info("Reading Imbrace trigger run status.")
    with client_of(imbrace_credentials) as client:
        return client.workflows.get_trigger_run_status()


@task(name="Get Imbrace trigger run status", cache_policy=NO_CACHE)
async def aget_trigger_run_status(imbrace_credentials: ImbraceCredentials) -> TriggerRunStatus:
    """Async twin of `get_trigger_run_status`."""
    get_run_logger().info("Reading Imbrace trigger run status.")
    async with async_client_of(imbrace_credentials) as client:
        return await client.workflows.get_trigger_run_status()


@task(name="Test Imbrace trigger", cache_policy=NO_CACHE)
def test_trigger(
    imbrace_credentials: ImbraceCredentials, body: TestTriggerRequest | Mapping[str, Any]
) -> SeekPage[TriggerEvent] | None:
    """Run a trigger's test (`TEST_FUNCTION`) or toggle listening (`SIMULATION`) for a version."""
    get_run_logger().info("Testing the trigger of Imbrace flow %s.", _flow_id_of(body))
    with client_of(imbrace_credentials) as client:
        return client.workflows.test_trigger(body=body)


@task(name="Test Imbrace trigger", cache_policy=NO_CACHE)
async def atest_trigger(
    imbrace_credentials: ImbraceCredentials, body: TestTriggerRequest | Mapping[str, Any]
) -> SeekPage[TriggerEvent] | None:
    """Async twin of `test_trigger`."""
    get_run_logger().info("Testing the trigger of Imbrace flow %s.", _flow_id_of(body))
    async with async_client_of(imbrace_credentials) as client:
        return await client.workflows.test_trigger(body=body)


@task(name="List Imbrace invitations", cache_policy=NO_CACHE)
def list_invitations(
    imbrace_credentials: ImbraceCredentials,
    type: Literal["PLATFORM", "PROJECT"] = "PROJECT",
    limit: int = 10,
    cursor: str | None = None,
    project_id: str | None = None,
) -> SeekPage[Invitation]:
    """One page of user invitations of the given type (PROJECT or PLATFORM)."""
    get_run_logger().info("Listing Imbrace invitations.")
    with client_of(imbrace_credentials) as client:
        return client.workflows.list_invitations(type, limit, cursor, project_id)


@task(name="List Imbrace invitations", cache_policy=NO_CACHE)
async def alist_invitations(
    imbrace_credentials: ImbraceCredentials,
    type: Literal["PLATFORM", "PROJECT"] = "PROJECT",
    limit: int = 10,
    cursor: str | None = None,
    project_id: str | None = None,
) -> SeekPage[Invitation]:
    """Async twin of `list_invitations`."""
    get_run_logger().info("Listing Imbrace invitations.")
    async with async_client_of(imbrace_credentials) as client:
        return await client.workflows.list_invitations(type, limit, cursor, project_id)


@task(name="Delete Imbrace invitation", cache_policy=NO_CACHE)
def delete_invitation(imbrace_credentials: ImbraceCredentials, invitation_id: str) -> None:
    """Withdraw a user invitation."""
    get_run_logger().info("Deleting Imbrace invitation %s.", invitation_id)
    with client_of(imbrace_credentials) as client:
        client.workflows.delete_invitation(invitation_id=invitation_id)


@task(name="Delete Imbrace invitation", cache_policy=NO_CACHE)
async def adelete_invitation(imbrace_credentials: ImbraceCredentials, invitation_id: str) -> None:
    """Async twin of `delete_invitation`."""
    get_run_logger().info("Deleting Imbrace invitation %s.", invitation_id)
    async with async_client_of(imbrace_credentials) as client:
        await client.workflows.delete_invitation(invitation_id=invitation_id)


@task(name="Get Imbrace project", cache_policy=NO_CACHE)
def get_project(imbrace_credentials: ImbraceCredentials) -> Project:
    """The project the credentials act in (one per Imbrace organisation)."""
    get_run_logger().info("Reading the Imbrace project of these credentials.")
    with client_of(imbrace_credentials) as client:
        return client.workflows.get_project()


@task(name="Get Imbrace project", cache_policy=NO_CACHE)
async def aget_project(imbrace_credentials: ImbraceCredentials) -> Project:
    """Async twin of `get_project`."""
    get_run_logger().info("Reading the Imbrace project of these credentials.")
    async with async_client_of(imbrace_credentials) as client:
        return await client.workflows.get_project()
