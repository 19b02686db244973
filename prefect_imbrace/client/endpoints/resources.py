"""Folders, app connections, MCP servers, pieces, trigger tests and invitations (imbrace-api.md §8-§12)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Literal

import httpx

from ...exceptions import ImbraceConfigurationError
from .. import _params as p
from .._base import Call, Timeout, json_or_none
from .._resource import endpoint, list_of, nothing, one, page_of, paged
from ..models import (
    AppConnection,
    Folder,
    Invitation,
    McpServer,
    McpToolInput,
    Piece,
    TestTriggerRequest,
    TriggerEvent,
    TriggerRunStatus,
    UpsertConnectionRequest,
)
from ..pagination import SeekPage
from .flows import StrList

__all__ = ["ResourceEndpoints"]


def _required(what: str, data: Mapping[str, Any], keys: Iterable[str], hint: str) -> None:
    for key in keys:
        if key not in data:
            raise ImbraceConfigurationError(f"{what} body needs {key!r}: {hint}.")


def _trigger_events(response: httpx.Response) -> SeekPage[TriggerEvent] | None:
    data = json_or_none(response)
    return None if data is None else SeekPage[TriggerEvent].model_validate(data)


class ResourceEndpoints:
    """Folders, connections, MCP servers, the piece catalogue, trigger tests, invitations."""

    # -- folders -------------------------------------------------------------------------------

    @endpoint
    def list_folders(
        self,
        limit: int = 10,
        cursor: str | None = None,
        *,
        project_id: str | None = None,
        timeout: Timeout = None,
    ) -> Call[SeekPage[Folder]]:
        """One page of folders, oldest first (`GET /v1/folders`)."""
        params = {"limit": p.limit_of(limit), "cursor": cursor, "projectId": project_id}
        return Call("GET", "/v1/folders", page_of(Folder), params=params, timeout=timeout)

    iter_folders = paged(list_folders)

    @endpoint
    def get_folder(self, folder_id: str, *, timeout: Timeout = None) -> Call[Folder]:
        """`GET /v1/folders/{id}`."""
        path = f"/v1/folders/{p.guard('folder_id', folder_id)}"
        return Call("GET", path, one(Folder), timeout=timeout)

    @endpoint
    def create_folder(
        self, display_name: str, project_id: str | None = None, *, timeout: Timeout = None
    ) -> Call[Folder]:
        """Create a folder, or return the one with that name (case-insensitive) (`POST /v1/folders`)."""
        p.guard("display_name", display_name)
        body = p.without_none(displayName=display_name, projectId=project_id)
        return Call("POST", "/v1/folders", one(Folder), json=body, timeout=timeout)

    @endpoint
    def update_folder(
        self, folder_id: str, display_name: str, *, timeout: Timeout = None
    ) -> Call[Folder]:
        """Rename a folder (`POST /v1/folders/{id}`); a name in use raises `ConflictError`."""
        p.guard("display_name", display_name)
        path = f"/v1/folders/{p.guard('folder_id', folder_id)}"
        return Call("POST", path, one(Folder), json={"displayName": display_name}, timeout=timeout)

    @endpoint
    def delete_folder(self, folder_id: str, *, timeout: Timeout = None) -> Call[None]:
        """Delete a folder; its flows become uncategorised (`DELETE /v1/folders/{id}`)."""
        path = f"/v1/folders/{p.guard('folder_id', folder_id)}"
        return Call("DELETE", path, nothing, timeout=timeout)

    # -- connections ---------------------------------------------------------------------------

    @endpoint
    def list_connections(
        self,
        limit: int = 10,
        cursor: str | None = None,
        project_id: str | None = None,
        piece_name: str | None = None,
        *,
        display_name: str | None = None,
        status: StrList = None,
        scope: str | None = None,
        imbrace_user_id: str | None = None,
        timeout: Timeout = None,
    ) -> Call[SeekPage[AppConnection]]:
        """One page of app connections, oldest first, without secrets (`GET /v1/app-connections`)."""
        params = {
            "limit": p.limit_of(limit),
            "cursor": cursor,
            "projectId": project_id,
            "pieceName": piece_name,
            "displayName": display_name,
            "status": p.str_list("status", status),
            "scope": scope,
            "imbraceUserId": imbrace_user_id,
        }
        return Call(
            "GET", "/v1/app-connections", page_of(AppConnection), params=params, timeout=timeout
        )

    iter_connections = paged(list_connections)

    @endpoint
    def get_connection(self, connection_id: str, *, timeout: Timeout = None) -> Call[AppConnection]:
        """One connection **with** its secret `value` (`GET /v1/app-connections/{id}`, fork route)."""
        path = f"/v1/app-connections/{p.guard_id('connection_id', connection_id)}"
        return Call("GET", path, one(AppConnection), timeout=timeout)

    @endpoint
    def upsert_connection(
        self, body: UpsertConnectionRequest | Mapping[str, Any], *, timeout: Timeout = None
    ) -> Call[AppConnection]:
        """Create or overwrite the connection with this `externalId` (`POST /v1/app-connections`)."""
        data = p.body_of("body", body)
        _required(
            "upsert_connection",
            data,
            ("externalId", "displayName", "pieceName", "type", "value"),
            "camelCase keys externalId, displayName, pieceName, type, value, or an UpsertConnectionRequest",
        )
        return Call("POST", "/v1/app-connections", one(AppConnection), json=data, timeout=timeout)

    @endpoint
    def delete_connection(self, connection_id: str, *, timeout: Timeout = None) -> Call[None]:
        """`DELETE /v1/app-connections/{id}` (204)."""
        path = f"/v1/app-connections/{p.guard_id('connection_id', connection_id)}"
        return Call("DELETE", path, nothing, timeout=timeout)

    # -- MCP servers ---------------------------------------------------------------------------

    @endpoint
    def list_mcp_servers(
        self,
        project_id: str | None = None,
        *,
        limit: int = 10,
        cursor: str | None = None,
        name: str | None = None,
        timeout: Timeout = None,
    ) -> Call[SeekPage[McpServer]]:
        """One page of MCP servers (`GET /v1/mcp-servers`); `project_id` is filled in when omitted."""
        params = p.without_none(
            projectId=project_id, limit=p.limit_of(limit), cursor=cursor, name=name
        )
        return Call(
            "GET",
            "/v1/mcp-servers",
            page_of(McpServer),
            params=params,
            timeout=timeout,
            needs_project=project_id is None,
        )

    iter_mcp_servers = paged(list_mcp_servers)

    @endpoint
    def get_mcp_server(self, mcp_server_id: str, *, timeout: Timeout = None) -> Call[McpServer]:
        """`GET /v1/mcp-servers/{id}`."""
        path = f"/v1/mcp-servers/{p.guard('mcp_server_id', mcp_server_id)}"
        return Call("GET", path, one(McpServer), timeout=timeout)

    @endpoint
    def create_mcp_server(
        self,
        body: Mapping[str, Any] | None = None,
        *,
        name: str | None = None,
        timeout: Timeout = None,
    ) -> Call[McpServer]:
        """Create an MCP server (`POST /v1/mcp-servers`, 200); `projectId` is filled in when omitted."""
        data = p.body_of("body", body)
        if name is not None:
            data["name"] = name
        if not data.get("name"):
            raise ImbraceConfigurationError(
                "create_mcp_server needs a name (name= or body {'name': ...})."
            )
        return Call(
            "POST",
            "/v1/mcp-servers",
            one(McpServer),
            json=data,
            timeout=timeout,
            needs_project=not data.get("projectId"),
        )

    @endpoint
    def update_mcp_server(
        self,
        mcp_server_id: str,
        body: Mapping[str, Any] | None = None,
        *,
        name: str | None = None,
        tools: Iterable[McpToolInput | Mapping[str, Any]] | None = None,
        timeout: Timeout = None,
    ) -> Call[McpServer]:
        """Rename and/or replace **all** tools (`POST /v1/mcp-servers/{id}`)."""
        data = p.body_of("body", body)
        if name is not None:
            data["name"] = name
        if tools is not None:
            data["tools"] = [
                p.body_of("tools", McpToolInput.model_validate(t) if isinstance(t, Mapping) else t)
                for t in tools
            ]
        path = f"/v1/mcp-servers/{p.guard('mcp_server_id', mcp_server_id)}"
        return Call("POST", path, one(McpServer), json=data, timeout=timeout)

    @endpoint
    def delete_mcp_server(self, mcp_server_id: str, *, timeout: Timeout = None) -> Call[None]:
        """`DELETE /v1/mcp-servers/{id}` (204)."""
        path = f"/v1/mcp-servers/{p.guard('mcp_server_id', mcp_server_id)}"
        return Call("DELETE", path, nothing, timeout=timeout)

    @endpoint
    def rotate_mcp_token(self, mcp_server_id: str, *, timeout: Timeout = None) -> Call[McpServer]:
        """A new token; the old one stops working (`POST /v1/mcp-servers/{id}/rotate`)."""
        path = f"/v1/mcp-servers/{p.guard('mcp_server_id', mcp_server_id)}/rotate"
        return Call("POST", path, one(McpServer), json={}, timeout=timeout)

    # -- pieces, triggers, invitations ---------------------------------------------------------

    @endpoint
    def list_pieces(
        self,
        limit: int = 10,
        *,
        search_query: str | None = None,
        include_hidden: bool | None = None,
        timeout: Timeout = None,
    ) -> Call[list[Piece]]:
        """The piece catalogue (`GET /v1/pieces`, a bare list; the engine ignores `limit`)."""
        params = {"limit": limit, "searchQuery": search_query, "includeHidden": include_hidden}
        return Call("GET", "/v1/pieces", list_of(Piece), params=params, timeout=timeout)

    @endpoint
    def get_trigger_run_status(self, *, timeout: Timeout = None) -> Call[TriggerRunStatus]:
        """Trigger execution counters per piece (`GET /v1/trigger-runs/status`)."""
        return Call("GET", "/v1/trigger-runs/status", one(TriggerRunStatus), timeout=timeout)

    @endpoint
    def test_trigger(
        self, body: TestTriggerRequest | Mapping[str, Any], *, timeout: Timeout = None
    ) -> Call[SeekPage[TriggerEvent] | None]:
        """Toggle listening (SIMULATION, returns None) or run the trigger's test (TEST_FUNCTION)."""
        data = p.body_of("body", body)
        _required(
            "test_trigger",
            data,
            ("flowId", "flowVersionId", "testStrategy"),
            "{'flowId', 'flowVersionId', 'testStrategy': 'SIMULATION' | 'TEST_FUNCTION'}",
        )
        return Call("POST", "/v1/test-trigger", _trigger_events, json=data, timeout=timeout)

    @endpoint
    def list_invitations(
        self,
        type: Literal["PLATFORM", "PROJECT"],
        limit: int = 10,
        cursor: str | None = None,
        project_id: str | None = None,
        *,
        status: Literal["PENDING", "ACCEPTED"] | None = None,
        timeout: Timeout = None,
    ) -> Call[SeekPage[Invitation]]:
        """One page of user invitations (`GET /v1/user-invitations`)."""
        if type not in ("PLATFORM", "PROJECT"):
            raise ImbraceConfigurationError(
                f"list_invitations type must be 'PLATFORM' or 'PROJECT' (got {type!r})."
            )
        params = {
            "type": type,
            "limit": p.limit_of(limit),
            "cursor": cursor,
            "projectId": project_id,
            "status": status,
        }
        return Call(
            "GET", "/v1/user-invitations", page_of(Invitation), params=params, timeout=timeout
        )

    @endpoint
    def delete_invitation(self, invitation_id: str, *, timeout: Timeout = None) -> Call[None]:
        """`DELETE /v1/user-invitations/{id}` (204)."""
        path = f"/v1/user-invitations/{p.guard('invitation_id', invitation_id)}"
        return Call("DELETE", path, nothing, timeout=timeout)
