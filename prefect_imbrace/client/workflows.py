"""`Workflows` and `AsyncWorkflows`: the seed's methods, sync and async side by side.

Both are thin: each method hands a `_Call` built by `_calls.Calls` (route, query, body,
decoder; no I/O) to the owning client's transport. Only `resolve_project_id` and the
`iter_*` helpers combine calls, and they do so identically in both twins.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Iterator, Mapping
from datetime import datetime
from typing import Any, Literal

import httpx

from ..exceptions import (
    APIStatusError,
    AuthenticationError,
    ImbraceConfigurationError,
    PermissionDeniedError,
)
from ._base import AsyncAPIClient, SyncAPIClient, _BaseAPIClient
from ._calls import Calls, RunStrategy, StrList
from ._params import body_of
from .models import (
    AppConnection,
    Field,
    Flow,
    FlowRun,
    Folder,
    Invitation,
    McpServer,
    McpToolInput,
    Piece,
    Project,
    Record,
    SyncReply,
    Table,
    TestTriggerRequest,
    TriggerEvent,
    TriggerReceipt,
    TriggerRunStatus,
    UpsertConnectionRequest,
)
from .operations import FlowOperation
from .pagination import SeekPage, aiterate, iterate

__all__ = ["AsyncWorkflows", "Workflows"]


_RESOLVE_FALLBACK_ERRORS = (APIStatusError, ValueError)
"""Errors after which `resolve_project_id` tries the first flow instead (credentials errors are re-raised)."""


def _resolved(project_id: str | None) -> str:
    if not project_id:
        raise ImbraceConfigurationError(
            "Could not find this organisation's workflow project: GET /v1/users/projects/current gave no "
            "id and there is no flow to read it from. Pass project_id= explicitly."
        )
    return project_id


def _mcp_body(body: Any, name: str | None) -> dict[str, Any]:
    data = body_of("body", body)
    if name is not None:
        data["name"] = name
    return data


class _WorkflowsBase:
    """State shared by the twins: the route builders and the cached project id."""

    def __init__(self, client: _BaseAPIClient):
        self._calls = Calls(client.timeout)
        self._project_id: str | None = None


class Workflows(_WorkflowsBase):
    """The Imbrace workflow engine: flows, runs, folders, connections, MCP servers, tables."""

    def __init__(self, client: SyncAPIClient):
        super().__init__(client)
        self._client: SyncAPIClient = client

    # -- project -----------------------------------------------------------------------------

    def get_project(self, *, timeout: float | httpx.Timeout | None = None) -> Project:
        """The caller's workflow project (`GET /v1/users/projects/current`)."""
        return self._client._request(timeout, self._calls.get_project())

    def resolve_project_id(self) -> str:
        """The organisation's project id, looked up once and cached (SDK logic).

        Asks `GET /v1/users/projects/current`; if that fails (other than on credentials) or has
        no id, falls back to the `projectId` of the first flow.
        """
        if self._project_id:
            return self._project_id
        try:
            project_id: str | None = self.get_project().id
        except (AuthenticationError, PermissionDeniedError):
            raise
        except _RESOLVE_FALLBACK_ERRORS:
            project_id = None
        if not project_id:
            page = self._client._request(None, self._calls.list_flows_for_project())
            project_id = page.data[0].project_id if page.data else None
        self._project_id = _resolved(project_id)
        return self._project_id

    # -- flows -------------------------------------------------------------------------------

    def list_flows(
        self,
        limit: int = 10,
        cursor: str | None = None,
        project_id: str | None = None,
        folder_id: str | None = None,
        status: StrList = None,
        *,
        name: str | None = None,
        version_state: Literal["DRAFT", "LOCKED"] | None = None,
        external_ids: StrList = None,
        connection_external_ids: StrList = None,
        agent_external_ids: StrList = None,
        tags: StrList = None,
        operation_status: StrList = None,
        timeout: float | httpx.Timeout | None = None,
    ) -> SeekPage[Flow]:
        """One page of flows, most recently updated first (`GET /v1/flows`).

        `folder_id="NULL"` selects uncategorised flows; `tags` must all be present.
        """
        return self._client._request(
            timeout,
            self._calls.list_flows(
                limit,
                cursor,
                project_id,
                folder_id,
                status,
                name,
                version_state,
                external_ids,
                connection_external_ids,
                agent_external_ids,
                tags,
                operation_status,
            ),
        )

    def iter_flows(
        self, *, page_size: int = 100, max_items: int | None = None, **filters: Any
    ) -> Iterator[Flow]:
        """Every flow matching the `list_flows` filters, following `next` cursors."""
        return iterate(
            lambda cursor: self.list_flows(limit=page_size, cursor=cursor, **filters),
            max_items=max_items,
        )

    def get_flow(
        self,
        flow_id: str,
        *,
        version_id: str | None = None,
        timeout: float | httpx.Timeout | None = None,
    ) -> Flow:
        """One flow with its latest version (or `version_id`) (`GET /v1/flows/{id}`)."""
        return self._client._request(timeout, self._calls.get_flow(flow_id, version_id))

    def create_flow(
        self,
        display_name: str,
        project_id: str | None = None,
        *,
        folder_id: str | None = None,
        folder_name: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        timeout: float | httpx.Timeout | None = None,
    ) -> Flow:
        """A new DISABLED flow with an EMPTY trigger (`POST /v1/flows`, 201)."""
        return self._client._request(
            timeout,
            self._calls.create_flow(display_name, project_id, folder_id, folder_name, metadata),
        )

    def delete_flow(self, flow_id: str, *, timeout: float | httpx.Timeout | None = None) -> None:
        """Delete a flow (`DELETE /v1/flows/{id}`, 204); the engine removes it about a second later."""
        return self._client._request(timeout, self._calls.delete_flow(flow_id))

    def apply_flow_operation(
        self,
        flow_id: str,
        body: FlowOperation | Mapping[str, Any],
        *,
        timeout: float | httpx.Timeout | None = None,
    ) -> Flow:
        """Apply one operation (`ops.lock_and_publish()`, `ops.add_action(...)`, ...) (`POST /v1/flows/{id}`)."""
        return self._client._request(timeout, self._calls.apply_flow_operation(flow_id, body))

    def trigger_flow(
        self,
        flow_id: str,
        payload: Any = None,
        *,
        headers: Mapping[str, str] | None = None,
        draft: bool = False,
        timeout: float | httpx.Timeout | None = None,
    ) -> TriggerReceipt:
        """Start a run through the async webhook (`POST /v1/webhooks/{id}[/draft]`).

        Never re-sent once it may have arrived: a lost answer raises `RequestOutcomeUnknownError`.
        404 -> `FlowDisabledError`, 410 -> `FlowGoneError`.
        """
        return self._client._request(
            timeout, self._calls.trigger_flow(flow_id, payload, headers, draft, timeout)
        )

    def trigger_flow_sync(
        self,
        flow_id: str,
        payload: Any = None,
        *,
        headers: Mapping[str, str] | None = None,
        draft: bool = False,
        timeout: float | httpx.Timeout | None = None,
    ) -> SyncReply:
        """Run the flow and wait for its Return Response step (`POST /v1/webhooks/{id}[/draft]/sync`).

        The default read timeout (40 s) outlasts the engine's 30 s hold; see `SyncReply.outcome`.
        """
        return self._client._request(
            timeout, self._calls.trigger_flow_sync(flow_id, payload, headers, draft, timeout)
        )

    # -- runs --------------------------------------------------------------------------------

    def list_runs(
        self,
        limit: int = 10,
        cursor: str | None = None,
        flow_id: StrList = None,
        status: StrList = None,
        project_id: str | None = None,
        *,
        created_after: datetime | str | None = None,
        created_before: datetime | str | None = None,
        tags: StrList = None,
        failed_step_name: str | None = None,
        flow_run_ids: StrList = None,
        archived: bool | None = None,
        timeout: float | httpx.Timeout | None = None,
    ) -> SeekPage[FlowRun]:
        """One page of PRODUCTION runs, newest first, without `steps` (`GET /v1/flow-runs`)."""
        return self._client._request(
            timeout,
            self._calls.list_runs(
                limit,
                cursor,
                flow_id,
                status,
                project_id,
                created_after,
                created_before,
                tags,
                failed_step_name,
                flow_run_ids,
                archived,
            ),
        )

    def iter_runs(
        self, *, page_size: int = 100, max_items: int | None = None, **filters: Any
    ) -> Iterator[FlowRun]:
        """Every run matching the `list_runs` filters, following `next` cursors."""
        return iterate(
            lambda cursor: self.list_runs(limit=page_size, cursor=cursor, **filters),
            max_items=max_items,
        )

    def get_run(self, run_id: str, *, timeout: float | httpx.Timeout | None = None) -> FlowRun:
        """One run with its `steps` (`GET /v1/flow-runs/{id}`); unknown ids raise `NotFoundError`."""
        return self._client._request(timeout, self._calls.get_run(run_id))

    def retry_run(
        self,
        run_id: str,
        strategy: RunStrategy = "FROM_FAILED_STEP",
        *,
        timeout: float | httpx.Timeout | None = None,
    ) -> FlowRun:
        """Retry one run (`POST /v1/flow-runs/{id}/retry`).

        FROM_FAILED_STEP resumes the same run; ON_LATEST_VERSION starts a new run (returned).
        """
        return self._client._request(timeout, self._calls.retry_run(run_id, strategy))

    def retry_runs(
        self,
        strategy: RunStrategy = "FROM_FAILED_STEP",
        *,
        flow_run_ids: StrList = None,
        exclude_flow_run_ids: StrList = None,
        status: StrList = None,
        flow_id: StrList = None,
        created_after: datetime | str | None = None,
        created_before: datetime | str | None = None,
        failed_step_name: str | None = None,
        timeout: float | httpx.Timeout | None = None,
    ) -> list[FlowRun | None]:
        """Retry the selected runs (`POST /v1/flow-runs/retry`)."""
        return self._client._request(
            timeout,
            self._calls.retry_runs(
                strategy,
                flow_run_ids=flow_run_ids,
                exclude_flow_run_ids=exclude_flow_run_ids,
                status=status,
                flow_id=flow_id,
                created_after=created_after,
                created_before=created_before,
                failed_step_name=failed_step_name,
            ),
        )

    def cancel_runs(
        self,
        *,
        flow_run_ids: StrList = None,
        exclude_flow_run_ids: StrList = None,
        status: StrList = None,
        flow_id: StrList = None,
        created_after: datetime | str | None = None,
        created_before: datetime | str | None = None,
        timeout: float | httpx.Timeout | None = None,
    ) -> None:
        """Cancel the selected PAUSED/QUEUED runs (`POST /v1/flow-runs/cancel`)."""
        return self._client._request(
            timeout,
            self._calls.cancel_runs(
                flow_run_ids=flow_run_ids,
                exclude_flow_run_ids=exclude_flow_run_ids,
                status=status,
                flow_id=flow_id,
                created_after=created_after,
                created_before=created_before,
            ),
        )

    def archive_runs(
        self,
        *,
        flow_run_ids: StrList = None,
        exclude_flow_run_ids: StrList = None,
        status: StrList = None,
        flow_id: StrList = None,
        created_after: datetime | str | None = None,
        created_before: datetime | str | None = None,
        failed_step_name: str | None = None,
        timeout: float | httpx.Timeout | None = None,
    ) -> None:
        """Archive the selected runs (`POST /v1/flow-runs/archive`)."""
        return self._client._request(
            timeout,
            self._calls.archive_runs(
                flow_run_ids=flow_run_ids,
                exclude_flow_run_ids=exclude_flow_run_ids,
                status=status,
                flow_id=flow_id,
                created_after=created_after,
                created_before=created_before,
                failed_step_name=failed_step_name,
            ),
        )

    # -- folders -----------------------------------------------------------------------------

    def list_folders(
        self,
        limit: int = 10,
        cursor: str | None = None,
        *,
        project_id: str | None = None,
        timeout: float | httpx.Timeout | None = None,
    ) -> SeekPage[Folder]:
        """One page of folders, oldest first (`GET /v1/folders`)."""
        return self._client._request(timeout, self._calls.list_folders(limit, cursor, project_id))

    def iter_folders(
        self, *, page_size: int = 100, max_items: int | None = None, **filters: Any
    ) -> Iterator[Folder]:
        """Every folder, following `next` cursors."""
        return iterate(
            lambda cursor: self.list_folders(limit=page_size, cursor=cursor, **filters),
            max_items=max_items,
        )

    def get_folder(self, folder_id: str, *, timeout: float | httpx.Timeout | None = None) -> Folder:
        """`GET /v1/folders/{id}`."""
        return self._client._request(timeout, self._calls.get_folder(folder_id))

    def create_folder(
        self,
        display_name: str,
        project_id: str | None = None,
        *,
        timeout: float | httpx.Timeout | None = None,
    ) -> Folder:
        """Create a folder, or return the one with that name (case-insensitive) (`POST /v1/folders`)."""
        return self._client._request(timeout, self._calls.create_folder(display_name, project_id))

    def update_folder(
        self, folder_id: str, display_name: str, *, timeout: float | httpx.Timeout | None = None
    ) -> Folder:
        """Rename a folder (`POST /v1/folders/{id}`); a name in use raises `ConflictError`."""
        return self._client._request(timeout, self._calls.update_folder(folder_id, display_name))

    def delete_folder(
        self, folder_id: str, *, timeout: float | httpx.Timeout | None = None
    ) -> None:
        """Delete a folder; its flows become uncategorised (`DELETE /v1/folders/{id}`)."""
        return self._client._request(timeout, self._calls.delete_folder(folder_id))

    # -- connections -------------------------------------------------------------------------

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
        timeout: float | httpx.Timeout | None = None,
    ) -> SeekPage[AppConnection]:
        """One page of app connections, oldest first, without secrets (`GET /v1/app-connections`)."""
        return self._client._request(
            timeout,
            self._calls.list_connections(
                limit, cursor, project_id, piece_name, display_name, status, scope, imbrace_user_id
            ),
        )

    def iter_connections(
        self, *, page_size: int = 100, max_items: int | None = None, **filters: Any
    ) -> Iterator[AppConnection]:
        """Every connection matching the `list_connections` filters."""
        return iterate(
            lambda cursor: self.list_connections(limit=page_size, cursor=cursor, **filters),
            max_items=max_items,
        )

    def get_connection(
        self, connection_id: str, *, timeout: float | httpx.Timeout | None = None
    ) -> AppConnection:
        """One connection **with** its secret `value` (`GET /v1/app-connections/{id}`, fork route)."""
        return self._client._request(timeout, self._calls.get_connection(connection_id))

    def upsert_connection(
        self,
        body: UpsertConnectionRequest | Mapping[str, Any],
        *,
        timeout: float | httpx.Timeout | None = None,
    ) -> AppConnection:
        """Create or overwrite the connection with this `externalId` (`POST /v1/app-connections`)."""
        return self._client._request(timeout, self._calls.upsert_connection(body))

    def delete_connection(
        self, connection_id: str, *, timeout: float | httpx.Timeout | None = None
    ) -> None:
        """`DELETE /v1/app-connections/{id}` (204)."""
        return self._client._request(timeout, self._calls.delete_connection(connection_id))

    # -- MCP servers -------------------------------------------------------------------------

    def list_mcp_servers(
        self,
        project_id: str | None = None,
        *,
        limit: int = 10,
        cursor: str | None = None,
        name: str | None = None,
        timeout: float | httpx.Timeout | None = None,
    ) -> SeekPage[McpServer]:
        """One page of MCP servers (`GET /v1/mcp-servers`); `projectId` is filled in when omitted."""
        project_id = project_id or self.resolve_project_id()
        return self._client._request(
            timeout, self._calls.list_mcp_servers(project_id, limit, cursor, name)
        )

    def iter_mcp_servers(
        self, *, page_size: int = 100, max_items: int | None = None, **filters: Any
    ) -> Iterator[McpServer]:
        """Every MCP server of the project."""
        return iterate(
            lambda cursor: self.list_mcp_servers(limit=page_size, cursor=cursor, **filters),
            max_items=max_items,
        )

    def get_mcp_server(
        self, mcp_server_id: str, *, timeout: float | httpx.Timeout | None = None
    ) -> McpServer:
        """`GET /v1/mcp-servers/{id}`."""
        return self._client._request(timeout, self._calls.get_mcp_server(mcp_server_id))

    def create_mcp_server(
        self,
        body: Mapping[str, Any] | None = None,
        *,
        name: str | None = None,
        timeout: float | httpx.Timeout | None = None,
    ) -> McpServer:
        """Create an MCP server (`POST /v1/mcp-servers`, 200); `projectId` is filled in when omitted."""
        data = _mcp_body(body, name)
        data["projectId"] = data.get("projectId") or self.resolve_project_id()
        return self._client._request(timeout, self._calls.create_mcp_server(data))

    def update_mcp_server(
        self,
        mcp_server_id: str,
        body: Mapping[str, Any] | None = None,
        *,
        name: str | None = None,
        tools: Iterable[McpToolInput | Mapping[str, Any]] | None = None,
        timeout: float | httpx.Timeout | None = None,
    ) -> McpServer:
        """Rename and/or replace **all** tools (`POST /v1/mcp-servers/{id}`)."""
        return self._client._request(
            timeout, self._calls.update_mcp_server(mcp_server_id, body, name, tools)
        )

    def delete_mcp_server(
        self, mcp_server_id: str, *, timeout: float | httpx.Timeout | None = None
    ) -> None:
        """`DELETE /v1/mcp-servers/{id}` (204)."""
        return self._client._request(timeout, self._calls.delete_mcp_server(mcp_server_id))

    def rotate_mcp_token(
        self, mcp_server_id: str, *, timeout: float | httpx.Timeout | None = None
    ) -> McpServer:
        """A new token; the old one stops working (`POST /v1/mcp-servers/{id}/rotate`)."""
        return self._client._request(timeout, self._calls.rotate_mcp_token(mcp_server_id))

    # -- tables ------------------------------------------------------------------------------

    def list_tables(
        self,
        limit: int = 10,
        cursor: str | None = None,
        *,
        name: str | None = None,
        external_ids: StrList = None,
        timeout: float | httpx.Timeout | None = None,
    ) -> SeekPage[Table]:
        """One page of tables, newest first (`GET /v1/tables`)."""
        return self._client._request(
            timeout, self._calls.list_tables(limit, cursor, name, external_ids)
        )

    def iter_tables(
        self, *, page_size: int = 100, max_items: int | None = None, **filters: Any
    ) -> Iterator[Table]:
        """Every table matching the `list_tables` filters."""
        return iterate(
            lambda cursor: self.list_tables(limit=page_size, cursor=cursor, **filters),
            max_items=max_items,
        )

    def get_table(self, table_id: str, *, timeout: float | httpx.Timeout | None = None) -> Table:
        """`GET /v1/tables/{id}`."""
        return self._client._request(timeout, self._calls.get_table(table_id))

    def create_table(
        self,
        name: str,
        *,
        external_id: str | None = None,
        timeout: float | httpx.Timeout | None = None,
    ) -> Table:
        """`POST /v1/tables`."""
        return self._client._request(timeout, self._calls.create_table(name, external_id))

    def update_table(
        self,
        table_id: str,
        *,
        name: str | None = None,
        trigger: Literal["ON_NEW_RECORD", "ON_UPDATE_RECORD"] | None = None,
        status: Literal["ENABLED", "DISABLED"] | None = None,
        timeout: float | httpx.Timeout | None = None,
    ) -> Table:
        """`POST /v1/tables/{id}`."""
        return self._client._request(
            timeout, self._calls.update_table(table_id, name, trigger, status)
        )

    def delete_table(self, table_id: str, *, timeout: float | httpx.Timeout | None = None) -> None:
        """`DELETE /v1/tables/{id}` (204)."""
        return self._client._request(timeout, self._calls.delete_table(table_id))

    def list_fields(
        self, table_id: str, *, timeout: float | httpx.Timeout | None = None
    ) -> list[Field]:
        """The columns of a table (`GET /v1/fields?tableId=`)."""
        return self._client._request(timeout, self._calls.list_fields(table_id))

    def create_field(
        self,
        table_id: str,
        name: str,
        type: Literal["TEXT", "NUMBER", "DATE", "STATIC_DROPDOWN"] = "TEXT",
        *,
        options: Iterable[str] | None = None,
        data: Mapping[str, Any] | None = None,
        external_id: str | None = None,
        timeout: float | httpx.Timeout | None = None,
    ) -> Field:
        """Add a column (`POST /v1/fields`); STATIC_DROPDOWN needs `options`."""
        return self._client._request(
            timeout, self._calls.create_field(table_id, name, type, options, data, external_id)
        )

    def list_records(
        self,
        table_id: str,
        limit: int = 10,
        cursor: str | None = None,
        *,
        filters: Iterable[Mapping[str, Any]] | None = None,
        timeout: float | httpx.Timeout | None = None,
    ) -> SeekPage[Record]:
        """The first `limit` matching records, oldest first (`GET /v1/records`; not cursor-paginated).

        `filters`: `[{"fieldId": ..., "value": ..., "operator": "eq" | "co" | "gt" | ...}]`.
        """
        return self._client._request(
            timeout, self._calls.list_records(table_id, limit, cursor, filters)
        )

    def get_record(self, record_id: str, *, timeout: float | httpx.Timeout | None = None) -> Record:
        """`GET /v1/records/{id}`."""
        return self._client._request(timeout, self._calls.get_record(record_id))

    def create_records(
        self,
        table_id: str,
        records: Iterable[Mapping[str, Any] | Iterable[Mapping[str, Any]]],
        *,
        timeout: float | httpx.Timeout | None = None,
    ) -> list[Record]:
        """Insert rows, each `{field_id: value}` (`POST /v1/records`, 201); values are stored as text."""
        return self._client._request(timeout, self._calls.create_records(table_id, records))

    def update_record(
        self,
        record_id: str,
        table_id: str,
        cells: Mapping[str, Any] | Iterable[Mapping[str, Any]] | None = None,
        *,
        timeout: float | httpx.Timeout | None = None,
    ) -> Record:
        """Change cells of one record (`POST /v1/records/{id}`)."""
        return self._client._request(timeout, self._calls.update_record(record_id, table_id, cells))

    def delete_records(self, ids: StrList, *, timeout: float | httpx.Timeout | None = None) -> None:
        """`DELETE /v1/records` with `{ids}` (204)."""
        return self._client._request(timeout, self._calls.delete_records(ids))

    # -- pieces, triggers, invitations -------------------------------------------------------

    def list_pieces(
        self,
        limit: int = 10,
        *,
        search_query: str | None = None,
        include_hidden: bool | None = None,
        timeout: float | httpx.Timeout | None = None,
    ) -> list[Piece]:
        """The piece catalogue (`GET /v1/pieces`, a bare list; the engine ignores `limit`)."""
        return self._client._request(
            timeout, self._calls.list_pieces(limit, search_query, include_hidden)
        )

    def get_trigger_run_status(
        self, *, timeout: float | httpx.Timeout | None = None
    ) -> TriggerRunStatus:
        """Trigger execution counters per piece (`GET /v1/trigger-runs/status`)."""
        return self._client._request(timeout, self._calls.get_trigger_run_status())

    def test_trigger(
        self,
        body: TestTriggerRequest | Mapping[str, Any],
        *,
        timeout: float | httpx.Timeout | None = None,
    ) -> SeekPage[TriggerEvent] | None:
        """Toggle listening (SIMULATION, returns None) or run the trigger's test (TEST_FUNCTION)."""
        return self._client._request(timeout, self._calls.test_trigger(body))

    def list_invitations(
        self,
        type: Literal["PLATFORM", "PROJECT"],
        limit: int = 10,
        cursor: str | None = None,
        project_id: str | None = None,
        *,
        status: Literal["PENDING", "ACCEPTED"] | None = None,
        timeout: float | httpx.Timeout | None = None,
    ) -> SeekPage[Invitation]:
        """One page of user invitations (`GET /v1/user-invitations`)."""
        return self._client._request(
            timeout, self._calls.list_invitations(type, limit, cursor, project_id, status)
        )

    def delete_invitation(
        self, invitation_id: str, *, timeout: float | httpx.Timeout | None = None
    ) -> None:
        """`DELETE /v1/user-invitations/{id}` (204)."""
        return self._client._request(timeout, self._calls.delete_invitation(invitation_id))


class AsyncWorkflows(_WorkflowsBase):
    """Async twin of `Workflows`: the Imbrace workflow engine: flows, runs, folders, connections, MCP servers, tables."""

    def __init__(self, client: AsyncAPIClient):
        super().__init__(client)
        self._client: AsyncAPIClient = client

    # -- project -----------------------------------------------------------------------------

    async def get_project(self, *, timeout: float | httpx.Timeout | None = None) -> Project:
        """The caller's workflow project (`GET /v1/users/projects/current`)."""
        return await self._client._request(timeout, self._calls.get_project())

    async def resolve_project_id(self) -> str:
        """The organisation's project id, looked up once and cached (SDK logic).

        Asks `GET /v1/users/projects/current`; if that fails (other than on credentials) or has
        no id, falls back to the `projectId` of the first flow.
        """
        if self._project_id:
            return self._project_id
        try:
            project_id: str | None = (await self.get_project()).id
        except (AuthenticationError, PermissionDeniedError):
            raise
        except _RESOLVE_FALLBACK_ERRORS:
            project_id = None
        if not project_id:
            page = await self._client._request(None, self._calls.list_flows_for_project())
            project_id = page.data[0].project_id if page.data else None
        self._project_id = _resolved(project_id)
        return self._project_id

    # -- flows -------------------------------------------------------------------------------

    async def list_flows(
        self,
        limit: int = 10,
        cursor: str | None = None,
        project_id: str | None = None,
        folder_id: str | None = None,
        status: StrList = None,
        *,
        name: str | None = None,
        version_state: Literal["DRAFT", "LOCKED"] | None = None,
        external_ids: StrList = None,
        connection_external_ids: StrList = None,
        agent_external_ids: StrList = None,
        tags: StrList = None,
        operation_status: StrList = None,
        timeout: float | httpx.Timeout | None = None,
    ) -> SeekPage[Flow]:
        """One page of flows, most recently updated first (`GET /v1/flows`).

        `folder_id="NULL"` selects uncategorised flows; `tags` must all be present.
        """
        return await self._client._request(
            timeout,
            self._calls.list_flows(
                limit,
                cursor,
                project_id,
                folder_id,
                status,
                name,
                version_state,
                external_ids,
                connection_external_ids,
                agent_external_ids,
                tags,
                operation_status,
            ),
        )

    def iter_flows(
        self, *, page_size: int = 100, max_items: int | None = None, **filters: Any
    ) -> AsyncIterator[Flow]:
        """Every flow matching the `list_flows` filters, following `next` cursors."""
        return aiterate(
            lambda cursor: self.list_flows(limit=page_size, cursor=cursor, **filters),
            max_items=max_items,
        )

    async def get_flow(
        self,
        flow_id: str,
        *,
        version_id: str | None = None,
        timeout: float | httpx.Timeout | None = None,
    ) -> Flow:
        """One flow with its latest version (or `version_id`) (`GET /v1/flows/{id}`)."""
        return await self._client._request(timeout, self._calls.get_flow(flow_id, version_id))

    async def create_flow(
        self,
        display_name: str,
        project_id: str | None = None,
        *,
        folder_id: str | None = None,
        folder_name: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        timeout: float | httpx.Timeout | None = None,
    ) -> Flow:
        """A new DISABLED flow with an EMPTY trigger (`POST /v1/flows`, 201)."""
        return await self._client._request(
            timeout,
            self._calls.create_flow(display_name, project_id, folder_id, folder_name, metadata),
        )

    async def delete_flow(
        self, flow_id: str, *, timeout: float | httpx.Timeout | None = None
    ) -> None:
        """Delete a flow (`DELETE /v1/flows/{id}`, 204); the engine removes it about a second later."""
        return await self._client._request(timeout, self._calls.delete_flow(flow_id))

    async def apply_flow_operation(
        self,
        flow_id: str,
        body: FlowOperation | Mapping[str, Any],
        *,
        timeout: float | httpx.Timeout | None = None,
    ) -> Flow:
        """Apply one operation (`ops.lock_and_publish()`, `ops.add_action(...)`, ...) (`POST /v1/flows/{id}`)."""
        return await self._client._request(timeout, self._calls.apply_flow_operation(flow_id, body))

    async def trigger_flow(
        self,
        flow_id: str,
        payload: Any = None,
        *,
        headers: Mapping[str, str] | None = None,
        draft: bool = False,
        timeout: float | httpx.Timeout | None = None,
    ) -> TriggerReceipt:
        """Start a run through the async webhook (`POST /v1/webhooks/{id}[/draft]`).

        Never re-sent once it may have arrived: a lost answer raises `RequestOutcomeUnknownError`.
        404 -> `FlowDisabledError`, 410 -> `FlowGoneError`.
        """
        return await self._client._request(
            timeout, self._calls.trigger_flow(flow_id, payload, headers, draft, timeout)
        )

    async def trigger_flow_sync(
        self,
        flow_id: str,
        payload: Any = None,
        *,
        headers: Mapping[str, str] | None = None,
        draft: bool = False,
        timeout: float | httpx.Timeout | None = None,
    ) -> SyncReply:
        """Run the flow and wait for its Return Response step (`POST /v1/webhooks/{id}[/draft]/sync`).

        The default read timeout (40 s) outlasts the engine's 30 s hold; see `SyncReply.outcome`.
        """
        return await self._client._request(
            timeout, self._calls.trigger_flow_sync(flow_id, payload, headers, draft, timeout)
        )

    # -- runs --------------------------------------------------------------------------------

    async def list_runs(
        self,
        limit: int = 10,
        cursor: str | None = None,
        flow_id: StrList = None,
        status: StrList = None,
        project_id: str | None = None,
        *,
        created_after: datetime | str | None = None,
        created_before: datetime | str | None = None,
        tags: StrList = None,
        failed_step_name: str | None = None,
        flow_run_ids: StrList = None,
        archived: bool | None = None,
        timeout: float | httpx.Timeout | None = None,
    ) -> SeekPage[FlowRun]:
        """One page of PRODUCTION runs, newest first, without `steps` (`GET /v1/flow-runs`)."""
        return await self._client._request(
            timeout,
            self._calls.list_runs(
                limit,
                cursor,
                flow_id,
                status,
                project_id,
                created_after,
                created_before,
                tags,
                failed_step_name,
                flow_run_ids,
                archived,
            ),
        )

    def iter_runs(
        self, *, page_size: int = 100, max_items: int | None = None, **filters: Any
    ) -> AsyncIterator[FlowRun]:
        """Every run matching the `list_runs` filters, following `next` cursors."""
        return aiterate(
            lambda cursor: self.list_runs(limit=page_size, cursor=cursor, **filters),
            max_items=max_items,
        )

    async def get_run(
        self, run_id: str, *, timeout: float | httpx.Timeout | None = None
    ) -> FlowRun:
        """One run with its `steps` (`GET /v1/flow-runs/{id}`); unknown ids raise `NotFoundError`."""
        return await self._client._request(timeout, self._calls.get_run(run_id))

    async def retry_run(
        self,
        run_id: str,
        strategy: RunStrategy = "FROM_FAILED_STEP",
        *,
        timeout: float | httpx.Timeout | None = None,
    ) -> FlowRun:
        """Retry one run (`POST /v1/flow-runs/{id}/retry`).

        FROM_FAILED_STEP resumes the same run; ON_LATEST_VERSION starts a new run (returned).
        """
        return await self._client._request(timeout, self._calls.retry_run(run_id, strategy))

    async def retry_runs(
        self,
        strategy: RunStrategy = "FROM_FAILED_STEP",
        *,
        flow_run_ids: StrList = None,
        exclude_flow_run_ids: StrList = None,
        status: StrList = None,
        flow_id: StrList = None,
        created_after: datetime | str | None = None,
        created_before: datetime | str | None = None,
        failed_step_name: str | None = None,
        timeout: float | httpx.Timeout | None = None,
    ) -> list[FlowRun | None]:
        """Retry the selected runs (`POST /v1/flow-runs/retry`)."""
        return await self._client._request(
            timeout,
            self._calls.retry_runs(
                strategy,
                flow_run_ids=flow_run_ids,
                exclude_flow_run_ids=exclude_flow_run_ids,
                status=status,
                flow_id=flow_id,
                created_after=created_after,
                created_before=created_before,
                failed_step_name=failed_step_name,
            ),
        )

    async def cancel_runs(
        self,
        *,
        flow_run_ids: StrList = None,
        exclude_flow_run_ids: StrList = None,
        status: StrList = None,
        flow_id: StrList = None,
        created_after: datetime | str | None = None,
        created_before: datetime | str | None = None,
        timeout: float | httpx.Timeout | None = None,
    ) -> None:
        """Cancel the selected PAUSED/QUEUED runs (`POST /v1/flow-runs/cancel`)."""
        return await self._client._request(
            timeout,
            self._calls.cancel_runs(
                flow_run_ids=flow_run_ids,
                exclude_flow_run_ids=exclude_flow_run_ids,
                status=status,
                flow_id=flow_id,
                created_after=created_after,
                created_before=created_before,
            ),
        )

    async def archive_runs(
        self,
        *,
        flow_run_ids: StrList = None,
        exclude_flow_run_ids: StrList = None,
        status: StrList = None,
        flow_id: StrList = None,
        created_after: datetime | str | None = None,
        created_before: datetime | str | None = None,
        failed_step_name: str | None = None,
        timeout: float | httpx.Timeout | None = None,
    ) -> None:
        """Archive the selected runs (`POST /v1/flow-runs/archive`)."""
        return await self._client._request(
            timeout,
            self._calls.archive_runs(
                flow_run_ids=flow_run_ids,
                exclude_flow_run_ids=exclude_flow_run_ids,
                status=status,
                flow_id=flow_id,
                created_after=created_after,
                created_before=created_before,
                failed_step_name=failed_step_name,
            ),
        )

    # -- folders -----------------------------------------------------------------------------

    async def list_folders(
        self,
        limit: int = 10,
        cursor: str | None = None,
        *,
        project_id: str | None = None,
        timeout: float | httpx.Timeout | None = None,
    ) -> SeekPage[Folder]:
        """One page of folders, oldest first (`GET /v1/folders`)."""
        return await self._client._request(
            timeout, self._calls.list_folders(limit, cursor, project_id)
        )

    def iter_folders(
        self, *, page_size: int = 100, max_items: int | None = None, **filters: Any
    ) -> AsyncIterator[Folder]:
        """Every folder, following `next` cursors."""
        return aiterate(
            lambda cursor: self.list_folders(limit=page_size, cursor=cursor, **filters),
            max_items=max_items,
        )

    async def get_folder(
        self, folder_id: str, *, timeout: float | httpx.Timeout | None = None
    ) -> Folder:
        """`GET /v1/folders/{id}`."""
        return await self._client._request(timeout, self._calls.get_folder(folder_id))

    async def create_folder(
        self,
        display_name: str,
        project_id: str | None = None,
        *,
        timeout: float | httpx.Timeout | None = None,
    ) -> Folder:
        """Create a folder, or return the one with that name (case-insensitive) (`POST /v1/folders`)."""
        return await self._client._request(
            timeout, self._calls.create_folder(display_name, project_id)
        )

    async def update_folder(
        self, folder_id: str, display_name: str, *, timeout: float | httpx.Timeout | None = None
    ) -> Folder:
        """Rename a folder (`POST /v1/folders/{id}`); a name in use raises `ConflictError`."""
        return await self._client._request(
            timeout, self._calls.update_folder(folder_id, display_name)
        )

    async def delete_folder(
        self, folder_id: str, *, timeout: float | httpx.Timeout | None = None
    ) -> None:
        """Delete a folder; its flows become uncategorised (`DELETE /v1/folders/{id}`)."""
        return await self._client._request(timeout, self._calls.delete_folder(folder_id))

    # -- connections -------------------------------------------------------------------------

    async def list_connections(
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
        timeout: float | httpx.Timeout | None = None,
    ) -> SeekPage[AppConnection]:
        """One page of app connections, oldest first, without secrets (`GET /v1/app-connections`)."""
        return await self._client._request(
            timeout,
            self._calls.list_connections(
                limit, cursor, project_id, piece_name, display_name, status, scope, imbrace_user_id
            ),
        )

    def iter_connections(
        self, *, page_size: int = 100, max_items: int | None = None, **filters: Any
    ) -> AsyncIterator[AppConnection]:
        """Every connection matching the `list_connections` filters."""
        return aiterate(
            lambda cursor: self.list_connections(limit=page_size, cursor=cursor, **filters),
            max_items=max_items,
        )

    async def get_connection(
        self, connection_id: str, *, timeout: float | httpx.Timeout | None = None
    ) -> AppConnection:
        """One connection **with** its secret `value` (`GET /v1/app-connections/{id}`, fork route)."""
        return await self._client._request(timeout, self._calls.get_connection(connection_id))

    async def upsert_connection(
        self,
        body: UpsertConnectionRequest | Mapping[str, Any],
        *,
        timeout: float | httpx.Timeout | None = None,
    ) -> AppConnection:
        """Create or overwrite the connection with this `externalId` (`POST /v1/app-connections`)."""
        return await self._client._request(timeout, self._calls.upsert_connection(body))

    async def delete_connection(
        self, connection_id: str, *, timeout: float | httpx.Timeout | None = None
    ) -> None:
        """`DELETE /v1/app-connections/{id}` (204)."""
        return await self._client._request(timeout, self._calls.delete_connection(connection_id))

    # -- MCP servers -------------------------------------------------------------------------

    async def list_mcp_servers(
        self,
        project_id: str | None = None,
        *,
        limit: int = 10,
        cursor: str | None = None,
        name: str | None = None,
        timeout: float | httpx.Timeout | None = None,
    ) -> SeekPage[McpServer]:
        """One page of MCP servers (`GET /v1/mcp-servers`); `projectId` is filled in when omitted."""
        project_id = project_id or await self.resolve_project_id()
        return await self._client._request(
            timeout, self._calls.list_mcp_servers(project_id, limit, cursor, name)
        )

    def iter_mcp_servers(
        self, *, page_size: int = 100, max_items: int | None = None, **filters: Any
    ) -> AsyncIterator[McpServer]:
        """Every MCP server of the project."""
        return aiterate(
            lambda cursor: self.list_mcp_servers(limit=page_size, cursor=cursor, **filters),
            max_items=max_items,
        )

    async def get_mcp_server(
        self, mcp_server_id: str, *, timeout: float | httpx.Timeout | None = None
    ) -> McpServer:
        """`GET /v1/mcp-servers/{id}`."""
        return await self._client._request(timeout, self._calls.get_mcp_server(mcp_server_id))

    async def create_mcp_server(
        self,
        body: Mapping[str, Any] | None = None,
        *,
        name: str | None = None,
        timeout: float | httpx.Timeout | None = None,
    ) -> McpServer:
        """Create an MCP server (`POST /v1/mcp-servers`, 200); `projectId` is filled in when omitted."""
        data = _mcp_body(body, name)
        data["projectId"] = data.get("projectId") or await self.resolve_project_id()
        return await self._client._request(timeout, self._calls.create_mcp_server(data))

    async def update_mcp_server(
        self,
        mcp_server_id: str,
        body: Mapping[str, Any] | None = None,
        *,
        name: str | None = None,
        tools: Iterable[McpToolInput | Mapping[str, Any]] | None = None,
        timeout: float | httpx.Timeout | None = None,
    ) -> McpServer:
        """Rename and/or replace **all** tools (`POST /v1/mcp-servers/{id}`)."""
        return await self._client._request(
            timeout, self._calls.update_mcp_server(mcp_server_id, body, name, tools)
        )

    async def delete_mcp_server(
        self, mcp_server_id: str, *, timeout: float | httpx.Timeout | None = None
    ) -> None:
        """`DELETE /v1/mcp-servers/{id}` (204)."""
        return await self._client._request(timeout, self._calls.delete_mcp_server(mcp_server_id))

    async def rotate_mcp_token(
        self, mcp_server_id: str, *, timeout: float | httpx.Timeout | None = None
    ) -> McpServer:
        """A new token; the old one stops working (`POST /v1/mcp-servers/{id}/rotate`)."""
        return await self._client._request(timeout, self._calls.rotate_mcp_token(mcp_server_id))

    # -- tables ------------------------------------------------------------------------------

    async def list_tables(
        self,
        limit: int = 10,
        cursor: str | None = None,
        *,
        name: str | None = None,
        external_ids: StrList = None,
        timeout: float | httpx.Timeout | None = None,
    ) -> SeekPage[Table]:
        """One page of tables, newest first (`GET /v1/tables`)."""
        return await self._client._request(
            timeout, self._calls.list_tables(limit, cursor, name, external_ids)
        )

    def iter_tables(
        self, *, page_size: int = 100, max_items: int | None = None, **filters: Any
    ) -> AsyncIterator[Table]:
        """Every table matching the `list_tables` filters."""
        return aiterate(
            lambda cursor: self.list_tables(limit=page_size, cursor=cursor, **filters),
            max_items=max_items,
        )

    async def get_table(
        self, table_id: str, *, timeout: float | httpx.Timeout | None = None
    ) -> Table:
        """`GET /v1/tables/{id}`."""
        return await self._client._request(timeout, self._calls.get_table(table_id))

    async def create_table(
        self,
        name: str,
        *,
        external_id: str | None = None,
        timeout: float | httpx.Timeout | None = None,
    ) -> Table:
        """`POST /v1/tables`."""
        return await self._client._request(timeout, self._calls.create_table(name, external_id))

    async def update_table(
        self,
        table_id: str,
        *,
        name: str | None = None,
        trigger: Literal["ON_NEW_RECORD", "ON_UPDATE_RECORD"] | None = None,
        status: Literal["ENABLED", "DISABLED"] | None = None,
        timeout: float | httpx.Timeout | None = None,
    ) -> Table:
        """`POST /v1/tables/{id}`."""
        return await self._client._request(
            timeout, self._calls.update_table(table_id, name, trigger, status)
        )

    async def delete_table(
        self, table_id: str, *, timeout: float | httpx.Timeout | None = None
    ) -> None:
        """`DELETE /v1/tables/{id}` (204)."""
        return await self._client._request(timeout, self._calls.delete_table(table_id))

    async def list_fields(
        self, table_id: str, *, timeout: float | httpx.Timeout | None = None
    ) -> list[Field]:
        """The columns of a table (`GET /v1/fields?tableId=`)."""
        return await self._client._request(timeout, self._calls.list_fields(table_id))

    async def create_field(
        self,
        table_id: str,
        name: str,
        type: Literal["TEXT", "NUMBER", "DATE", "STATIC_DROPDOWN"] = "TEXT",
        *,
        options: Iterable[str] | None = None,
        data: Mapping[str, Any] | None = None,
        external_id: str | None = None,
        timeout: float | httpx.Timeout | None = None,
    ) -> Field:
        """Add a column (`POST /v1/fields`); STATIC_DROPDOWN needs `options`."""
        return await self._client._request(
            timeout, self._calls.create_field(table_id, name, type, options, data, external_id)
        )

    async def list_records(
        self,
        table_id: str,
        limit: int = 10,
        cursor: str | None = None,
        *,
        filters: Iterable[Mapping[str, Any]] | None = None,
        timeout: float | httpx.Timeout | None = None,
    ) -> SeekPage[Record]:
        """The first `limit` matching records, oldest first (`GET /v1/records`; not cursor-paginated).

        `filters`: `[{"fieldId": ..., "value": ..., "operator": "eq" | "co" | "gt" | ...}]`.
        """
        return await self._client._request(
            timeout, self._calls.list_records(table_id, limit, cursor, filters)
        )

    async def get_record(
        self, record_id: str, *, timeout: float | httpx.Timeout | None = None
    ) -> Record:
        """`GET /v1/records/{id}`."""
        return await self._client._request(timeout, self._calls.get_record(record_id))

    async def create_records(
        self,
        table_id: str,
        records: Iterable[Mapping[str, Any] | Iterable[Mapping[str, Any]]],
        *,
        timeout: float | httpx.Timeout | None = None,
    ) -> list[Record]:
        """Insert rows, each `{field_id: value}` (`POST /v1/records`, 201); values are stored as text."""
        return await self._client._request(timeout, self._calls.create_records(table_id, records))

    async def update_record(
        self,
        record_id: str,
        table_id: str,
        cells: Mapping[str, Any] | Iterable[Mapping[str, Any]] | None = None,
        *,
        timeout: float | httpx.Timeout | None = None,
    ) -> Record:
        """Change cells of one record (`POST /v1/records/{id}`)."""
        return await self._client._request(
            timeout, self._calls.update_record(record_id, table_id, cells)
        )

    async def delete_records(
        self, ids: StrList, *, timeout: float | httpx.Timeout | None = None
    ) -> None:
        """`DELETE /v1/records` with `{ids}` (204)."""
        return await self._client._request(timeout, self._calls.delete_records(ids))

    # -- pieces, triggers, invitations -------------------------------------------------------

    async def list_pieces(
        self,
        limit: int = 10,
        *,
        search_query: str | None = None,
        include_hidden: bool | None = None,
        timeout: float | httpx.Timeout | None = None,
    ) -> list[Piece]:
        """The piece catalogue (`GET /v1/pieces`, a bare list; the engine ignores `limit`)."""
        return await self._client._request(
            timeout, self._calls.list_pieces(limit, search_query, include_hidden)
        )

    async def get_trigger_run_status(
        self, *, timeout: float | httpx.Timeout | None = None
    ) -> TriggerRunStatus:
        """Trigger execution counters per piece (`GET /v1/trigger-runs/status`)."""
        return await self._client._request(timeout, self._calls.get_trigger_run_status())

    async def test_trigger(
        self,
        body: TestTriggerRequest | Mapping[str, Any],
        *,
        timeout: float | httpx.Timeout | None = None,
    ) -> SeekPage[TriggerEvent] | None:
        """Toggle listening (SIMULATION, returns None) or run the trigger's test (TEST_FUNCTION)."""
        return await self._client._request(timeout, self._calls.test_trigger(body))

    async def list_invitations(
        self,
        type: Literal["PLATFORM", "PROJECT"],
        limit: int = 10,
        cursor: str | None = None,
        project_id: str | None = None,
        *,
        status: Literal["PENDING", "ACCEPTED"] | None = None,
        timeout: float | httpx.Timeout | None = None,
    ) -> SeekPage[Invitation]:
        """One page of user invitations (`GET /v1/user-invitations`)."""
        return await self._client._request(
            timeout, self._calls.list_invitations(type, limit, cursor, project_id, status)
        )

    async def delete_invitation(
        self, invitation_id: str, *, timeout: float | httpx.Timeout | None = None
    ) -> None:
        """`DELETE /v1/user-invitations/{id}` (204)."""
        return await self._client._request(timeout, self._calls.delete_invitation(invitation_id))
