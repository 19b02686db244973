"""Every engine route as a pure `_Call` builder (method, path, query, body, decoder).

`Workflows` and `AsyncWorkflows` wrap these one-to-one, so the sync and async twins cannot
drift apart: all route knowledge lives here once, without I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timezone
from typing import Any, Literal, TypeVar

import httpx
from pydantic import BaseModel, TypeAdapter

from ..exceptions import ImbraceConfigurationError
from . import _params as p
from ._base import _Call, json_or_none
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
    Table,
    TriggerEvent,
    TriggerRunStatus,
)
from .models.webhooks import SyncOutcome, SyncReply, TriggerReceipt
from .operations import as_operation
from .pagination import SeekPage

M = TypeVar("M", bound=BaseModel)

SYNC_WEBHOOK_READ_TIMEOUT = 40.0
"""Longer than the engine's 30 s hold (`WEBHOOK_TIMEOUT_SECONDS`), so its 204 reaches us."""

_ENGINE_SYNC_FAILED = (
    "The flow has failed and there is no response returned",
    "An internal error has occurred",
)
_ENGINE_SYNC_TIMEOUT = "The request took too long to reply"

RunStrategy = Literal["FROM_FAILED_STEP", "ON_LATEST_VERSION"]
StrList = str | Iterable[str] | None


def _one(model: type[M]) -> Callable[[httpx.Response], M]:
    return lambda response: model.model_validate_json(response.content)


def _page(model: type[M]) -> Callable[[httpx.Response], SeekPage[M]]:
    return lambda response: SeekPage[model].model_validate_json(response.content)  # type: ignore[valid-type]


def _list(model: type[M]) -> Callable[[httpx.Response], list[M]]:
    adapter = TypeAdapter(list[model])  # type: ignore[valid-type]
    return lambda response: adapter.validate_json(response.content)


def _none(response: httpx.Response) -> None:
    return None


def _message_of(response: httpx.Response) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    return body.get("message") if isinstance(body, dict) else None


def sync_outcome(response: httpx.Response) -> SyncOutcome | None:
    """Classify a sync webhook answer; None means "an error to raise" (disabled, gone, gateway failure)."""
    status = response.status_code
    if status in (404, 410):
        return None
    if status == 204:
        return SyncOutcome.NO_REPLY
    if status == 500 and _message_of(response) in _ENGINE_SYNC_FAILED:
        return SyncOutcome.RUN_FAILED
    if status == 504 and _message_of(response) == _ENGINE_SYNC_TIMEOUT:
        return SyncOutcome.RUN_TIMED_OUT
    if status < 400 or "x-webhook-id" in response.headers:
        return SyncOutcome.REPLIED
    return None


def _reply_body(response: httpx.Response) -> Any:
    if not response.content:
        return None
    if "json" in response.headers.get("content-type", ""):
        try:
            return response.json()
        except ValueError:
            return response.text
    return response.text


class Calls:
    """Builders shared by both resources; `timeout` is the owning client's default timeout."""

    def __init__(self, default_timeout: httpx.Timeout):
        self._default_timeout = default_timeout

    # -- project -----------------------------------------------------------------------------

    def get_project(self) -> _Call[Project]:
        return _Call("GET", "/v1/users/projects/current", _one(Project))

    def list_flows_for_project(self) -> _Call[SeekPage[Flow]]:
        return _Call("GET", "/v1/flows", _page(Flow), params={"limit": 1})

    # -- flows -------------------------------------------------------------------------------

    def list_flows(
        self,
        limit: int,
        cursor: str | None,
        project_id: str | None,
        folder_id: str | None,
        status: StrList,
        name: str | None,
        version_state: str | None,
        external_ids: StrList,
        connection_external_ids: StrList,
        agent_external_ids: StrList,
        tags: StrList,
        operation_status: StrList,
    ) -> _Call[SeekPage[Flow]]:
        params = {
            "limit": p.limit_of(limit),
            "cursor": cursor,
            "projectId": project_id,
            "folderId": folder_id,
            "status": p.str_list("status", status),
            "name": name,
            "versionState": version_state,
            "externalIds": p.str_list("external_ids", external_ids),
            "connectionExternalIds": p.str_list("connection_external_ids", connection_external_ids),
            "agentExternalIds": p.str_list("agent_external_ids", agent_external_ids),
            "tags": p.str_list("tags", tags),
            "operationStatus": p.str_list("operation_status", operation_status),
        }
        return _Call("GET", "/v1/flows", _page(Flow), params=params)

    def get_flow(self, flow_id: str, version_id: str | None) -> _Call[Flow]:
        return _Call(
            "GET",
            f"/v1/flows/{p.guard_id('flow_id', flow_id)}",
            _one(Flow),
            params={"versionId": version_id},
        )

    def create_flow(
        self,
        display_name: str,
        project_id: str | None,
        folder_id: str | None,
        folder_name: str | None,
        metadata: Mapping[str, Any] | None,
    ) -> _Call[Flow]:
        p.guard("display_name", display_name)
        body: dict[str, Any] = {"displayName": display_name}
        for key, value in (
            ("projectId", project_id),
            ("folderId", folder_id),
            ("folderName", folder_name),
        ):
            if value is not None:
                body[key] = value
        if metadata is not None:
            body["metadata"] = dict(metadata)
        return _Call("POST", "/v1/flows", _one(Flow), json=body)

    def delete_flow(self, flow_id: str) -> _Call[None]:
        return _Call("DELETE", f"/v1/flows/{p.guard_id('flow_id', flow_id)}", _none)

    def apply_flow_operation(self, flow_id: str, body: Any) -> _Call[Flow]:
        return _Call(
            "POST",
            f"/v1/flows/{p.guard_id('flow_id', flow_id)}",
            _one(Flow),
            json=as_operation(body),
        )

    # -- webhooks ----------------------------------------------------------------------------

    def _webhook_path(self, flow_id: str, draft: bool, sync: bool) -> str:
        path = f"/v1/webhooks/{p.guard_id('flow_id', flow_id)}"
        return path + ("/draft" if draft else "") + ("/sync" if sync else "")

    def trigger_flow(
        self,
        flow_id: str,
        payload: Any,
        headers: Mapping[str, str] | None,
        draft: bool,
        timeout: float | httpx.Timeout | None,
    ) -> _Call[TriggerReceipt]:
        path = self._webhook_path(flow_id, draft, sync=False)
        body = p.json_payload(payload)
        sent_at = datetime.now(timezone.utc)

        def parse(response: httpx.Response) -> TriggerReceipt:
            return TriggerReceipt(
                flow_id=flow_id,
                webhook_id=response.headers.get("x-webhook-id"),
                status_code=response.status_code,
                sent_at=sent_at,
            )

        return _Call(
            "POST",
            path,
            parse,
            json=body,
            headers=headers,
            timeout=timeout,
            webhook_flow_id=flow_id,
        )

    def trigger_flow_sync(
        self,
        flow_id: str,
        payload: Any,
        headers: Mapping[str, str] | None,
        draft: bool,
        timeout: float | httpx.Timeout | None,
    ) -> _Call[SyncReply]:
        path = self._webhook_path(flow_id, draft, sync=True)
        body = p.json_payload(payload)
        if timeout is None:
            base = self._default_timeout
            timeout = httpx.Timeout(
                connect=base.connect,
                read=max(base.read or 0.0, SYNC_WEBHOOK_READ_TIMEOUT),
                write=base.write,
                pool=base.pool,
            )
        sent_at = datetime.now(timezone.utc)

        def parse(response: httpx.Response) -> SyncReply:
            outcome = sync_outcome(response)
            assert outcome is not None  # errors were raised before parsing
            return SyncReply(
                outcome=outcome,
                status_code=response.status_code,
                headers={k.lower(): v for k, v in response.headers.items()},
                body=_reply_body(response),
                webhook_id=response.headers.get("x-webhook-id"),
                flow_id=flow_id,
                sent_at=sent_at,
            )

        return _Call(
            "POST",
            path,
            parse,
            json=body,
            headers=headers,
            timeout=timeout,
            webhook_flow_id=flow_id,
            accept_error=lambda response: sync_outcome(response) is not None,
        )

    # -- runs --------------------------------------------------------------------------------

    def list_runs(
        self,
        limit: int,
        cursor: str | None,
        flow_id: StrList,
        status: StrList,
        project_id: str | None,
        created_after: datetime | str | None,
        created_before: datetime | str | None,
        tags: StrList,
        failed_step_name: str | None,
        flow_run_ids: StrList,
        archived: bool | None,
    ) -> _Call[SeekPage[FlowRun]]:
        params = {
            "limit": p.limit_of(limit),
            "cursor": cursor,
            "projectId": project_id,
            "flowId": p.str_list("flow_id", flow_id, ids=True),
            "status": p.str_list("status", status),
            "createdAfter": p.iso("created_after", created_after),
            "createdBefore": p.iso("created_before", created_before),
            "tags": p.str_list("tags", tags),
            "failedStepName": failed_step_name,
            "flowRunIds": p.str_list("flow_run_ids", flow_run_ids, ids=True),
            "archived": None if archived is None else ("true" if archived else "false"),
        }
        return _Call("GET", "/v1/flow-runs", _page(FlowRun), params=params)

    def get_run(self, run_id: str) -> _Call[FlowRun]:
        return _Call("GET", f"/v1/flow-runs/{p.guard_id('run_id', run_id)}", _one(FlowRun))

    def retry_run(self, run_id: str, strategy: RunStrategy) -> _Call[FlowRun]:
        _check_strategy(strategy)
        path = f"/v1/flow-runs/{p.guard_id('run_id', run_id)}/retry"
        return _Call("POST", path, _one(FlowRun), json={"strategy": strategy})

    def _bulk_body(
        self,
        flow_run_ids: StrList,
        exclude_flow_run_ids: StrList,
        status: StrList,
        flow_id: StrList,
        created_after: datetime | str | None,
        created_before: datetime | str | None,
        failed_step_name: str | None = None,
    ) -> dict[str, Any]:
        body = {
            "flowRunIds": p.str_list("flow_run_ids", flow_run_ids, ids=True),
            "excludeFlowRunIds": p.str_list("exclude_flow_run_ids", exclude_flow_run_ids, ids=True),
            "status": p.str_list("status", status),
            "flowId": p.str_list("flow_id", flow_id, ids=True),
            "createdAfter": p.iso("created_after", created_after),
            "createdBefore": p.iso("created_before", created_before),
            "failedStepName": failed_step_name,
        }
        body = {k: v for k, v in body.items() if v is not None}
        if not set(body) - {"excludeFlowRunIds"}:
            raise ImbraceConfigurationError(
                "Select the runs: pass flow_run_ids=, flow_id=, status=, created_after=/created_before= "
                "or failed_step_name= (an unfiltered bulk call would act on every run of the project)."
            )
        return body

    def retry_runs(self, strategy: RunStrategy, **filters: Any) -> _Call[list[FlowRun | None]]:
        _check_strategy(strategy)
        body = {"strategy": strategy, **self._bulk_body(**filters)}
        adapter = TypeAdapter(list[FlowRun | None])

        def parse(response: httpx.Response) -> list[FlowRun | None]:
            data = json_or_none(response)
            return adapter.validate_python(data or [])

        return _Call("POST", "/v1/flow-runs/retry", parse, json=body)

    def cancel_runs(self, **filters: Any) -> _Call[None]:
        return _Call("POST", "/v1/flow-runs/cancel", _none, json=self._bulk_body(**filters))

    def archive_runs(self, **filters: Any) -> _Call[None]:
        return _Call("POST", "/v1/flow-runs/archive", _none, json=self._bulk_body(**filters))

    # -- folders -----------------------------------------------------------------------------

    def list_folders(
        self, limit: int, cursor: str | None, project_id: str | None
    ) -> _Call[SeekPage[Folder]]:
        params = {"limit": p.limit_of(limit), "cursor": cursor, "projectId": project_id}
        return _Call("GET", "/v1/folders", _page(Folder), params=params)

    def get_folder(self, folder_id: str) -> _Call[Folder]:
        return _Call("GET", f"/v1/folders/{p.guard('folder_id', folder_id)}", _one(Folder))

    def create_folder(self, display_name: str, project_id: str | None) -> _Call[Folder]:
        p.guard("display_name", display_name)
        body: dict[str, Any] = {"displayName": display_name}
        if project_id is not None:
            body["projectId"] = project_id
        return _Call("POST", "/v1/folders", _one(Folder), json=body)

    def update_folder(self, folder_id: str, display_name: str) -> _Call[Folder]:
        p.guard("display_name", display_name)
        path = f"/v1/folders/{p.guard('folder_id', folder_id)}"
        return _Call("POST", path, _one(Folder), json={"displayName": display_name})

    def delete_folder(self, folder_id: str) -> _Call[None]:
        return _Call("DELETE", f"/v1/folders/{p.guard('folder_id', folder_id)}", _none)

    # -- connections -------------------------------------------------------------------------

    def list_connections(
        self,
        limit: int,
        cursor: str | None,
        project_id: str | None,
        piece_name: str | None,
        display_name: str | None,
        status: StrList,
        scope: str | None,
        imbrace_user_id: str | None,
    ) -> _Call[SeekPage[AppConnection]]:
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
        return _Call("GET", "/v1/app-connections", _page(AppConnection), params=params)

    def get_connection(self, connection_id: str) -> _Call[AppConnection]:
        path = f"/v1/app-connections/{p.guard_id('connection_id', connection_id)}"
        return _Call("GET", path, _one(AppConnection))

    def upsert_connection(self, body: Any) -> _Call[AppConnection]:
        data = p.body_of("body", body)
        for key in ("externalId", "displayName", "pieceName", "type", "value"):
            if key not in data:
                raise ImbraceConfigurationError(
                    f"upsert_connection body needs {key!r} (camelCase keys: externalId, displayName, "
                    f"pieceName, type, value), or pass an UpsertConnectionRequest."
                )
        return _Call("POST", "/v1/app-connections", _one(AppConnection), json=data)

    def delete_connection(self, connection_id: str) -> _Call[None]:
        path = f"/v1/app-connections/{p.guard_id('connection_id', connection_id)}"
        return _Call("DELETE", path, _none)

    # -- MCP servers -------------------------------------------------------------------------

    def list_mcp_servers(
        self, project_id: str, limit: int, cursor: str | None, name: str | None
    ) -> _Call[SeekPage[McpServer]]:
        params = {
            "projectId": project_id,
            "limit": p.limit_of(limit),
            "cursor": cursor,
            "name": name,
        }
        return _Call("GET", "/v1/mcp-servers", _page(McpServer), params=params)

    def get_mcp_server(self, mcp_server_id: str) -> _Call[McpServer]:
        return _Call(
            "GET", f"/v1/mcp-servers/{p.guard('mcp_server_id', mcp_server_id)}", _one(McpServer)
        )

    def create_mcp_server(self, body: dict[str, Any]) -> _Call[McpServer]:
        if not body.get("name"):
            raise ImbraceConfigurationError(
                "create_mcp_server needs a name (body {'name': ...} or name=)."
            )
        return _Call("POST", "/v1/mcp-servers", _one(McpServer), json=body)

    def update_mcp_server(
        self, mcp_server_id: str, body: Any, name: str | None, tools: Iterable[Any] | None
    ) -> _Call[McpServer]:
        data = p.body_of("body", body)
        if name is not None:
            data["name"] = name
        if tools is not None:
            data["tools"] = [
                p.body_of("tools", McpToolInput.model_validate(t) if isinstance(t, Mapping) else t)
                for t in tools
            ]
        path = f"/v1/mcp-servers/{p.guard('mcp_server_id', mcp_server_id)}"
        return _Call("POST", path, _one(McpServer), json=data)

    def delete_mcp_server(self, mcp_server_id: str) -> _Call[None]:
        return _Call("DELETE", f"/v1/mcp-servers/{p.guard('mcp_server_id', mcp_server_id)}", _none)

    def rotate_mcp_token(self, mcp_server_id: str) -> _Call[McpServer]:
        path = f"/v1/mcp-servers/{p.guard('mcp_server_id', mcp_server_id)}/rotate"
        return _Call("POST", path, _one(McpServer), json={})

    # -- tables, fields, records -------------------------------------------------------------

    def list_tables(
        self, limit: int, cursor: str | None, name: str | None, external_ids: StrList
    ) -> _Call[SeekPage[Table]]:
        params = {
            "limit": p.limit_of(limit),
            "cursor": cursor,
            "name": name,
            "externalIds": p.str_list("external_ids", external_ids),
        }
        return _Call("GET", "/v1/tables", _page(Table), params=params)

    def get_table(self, table_id: str) -> _Call[Table]:
        return _Call("GET", f"/v1/tables/{p.guard_id('table_id', table_id)}", _one(Table))

    def create_table(self, name: str, external_id: str | None) -> _Call[Table]:
        p.guard("name", name)
        body: dict[str, Any] = {"name": name}
        if external_id is not None:
            body["externalId"] = external_id
        return _Call("POST", "/v1/tables", _one(Table), json=body)

    def update_table(
        self, table_id: str, name: str | None, trigger: str | None, status: str | None
    ) -> _Call[Table]:
        body = {
            k: v
            for k, v in (("name", name), ("trigger", trigger), ("status", status))
            if v is not None
        }
        return _Call(
            "POST", f"/v1/tables/{p.guard_id('table_id', table_id)}", _one(Table), json=body
        )

    def delete_table(self, table_id: str) -> _Call[None]:
        return _Call("DELETE", f"/v1/tables/{p.guard_id('table_id', table_id)}", _none)

    def list_fields(self, table_id: str) -> _Call[list[Field]]:
        p.guard_id("table_id", table_id)

        def parse(response: httpx.Response) -> list[Field]:
            data = response.json()
            if isinstance(data, dict) and "data" in data:  # tolerate a SeekPage envelope
                data = data["data"]
            return TypeAdapter(list[Field]).validate_python(data)

        return _Call("GET", "/v1/fields", parse, params={"tableId": table_id})

    def create_field(
        self,
        table_id: str,
        name: str,
        type: str,
        options: Iterable[str] | None,
        data: Mapping[str, Any] | None,
        external_id: str | None,
    ) -> _Call[Field]:
        p.guard_id("table_id", table_id)
        p.guard("name", name)
        body: dict[str, Any] = {"tableId": table_id, "name": name, "type": type}
        if options is not None:
            body["data"] = {"options": [{"value": o} for o in options]}
        elif data is not None:
            body["data"] = dict(data)
        elif type == "STATIC_DROPDOWN":
            raise ImbraceConfigurationError(
                "A STATIC_DROPDOWN field needs options=['a', 'b', ...]."
            )
        if external_id is not None:
            body["externalId"] = external_id
        return _Call("POST", "/v1/fields", _one(Field), json=body)

    def list_records(
        self,
        table_id: str,
        limit: int,
        cursor: str | None,
        filters: Iterable[Mapping[str, Any]] | None,
    ) -> _Call[SeekPage[Record]]:
        p.guard("table_id", table_id)
        params: dict[str, Any] = {"tableId": table_id, "limit": p.limit_of(limit), "cursor": cursor}
        for i, item in enumerate(filters or ()):
            if "fieldId" not in item:
                raise ImbraceConfigurationError(
                    "A record filter is {'fieldId', 'value', 'operator'?}."
                )
            for key in ("fieldId", "value", "operator"):
                if item.get(key) is not None:
                    params[f"filters[{i}][{key}]"] = item[key]
        return _Call("GET", "/v1/records", _page(Record), params=params)

    def get_record(self, record_id: str) -> _Call[Record]:
        return _Call("GET", f"/v1/records/{p.guard('record_id', record_id)}", _one(Record))

    def create_records(self, table_id: str, records: Iterable[Any]) -> _Call[list[Record]]:
        p.guard_id("table_id", table_id)
        body = {"tableId": table_id, "records": p.records_body(records)}
        return _Call("POST", "/v1/records", _list(Record), json=body)

    def update_record(
        self,
        record_id: str,
        table_id: str,
        cells: Mapping[str, Any] | Iterable[Mapping[str, Any]] | None,
    ) -> _Call[Record]:
        p.guard_id("table_id", table_id)
        body: dict[str, Any] = {"tableId": table_id}
        if cells is not None:
            body["cells"] = p.records_body([cells])[0]
        return _Call(
            "POST", f"/v1/records/{p.guard('record_id', record_id)}", _one(Record), json=body
        )

    def delete_records(self, ids: StrList) -> _Call[None]:
        id_list = p.str_list("ids", ids) or []
        if not id_list:
            raise ImbraceConfigurationError("delete_records needs at least one record id.")
        return _Call("DELETE", "/v1/records", _none, json={"ids": id_list})

    # -- pieces, triggers, invitations -------------------------------------------------------

    def list_pieces(
        self, limit: int, search_query: str | None, include_hidden: bool | None
    ) -> _Call[list[Piece]]:
        params = {"limit": limit, "searchQuery": search_query, "includeHidden": include_hidden}
        return _Call("GET", "/v1/pieces", _list(Piece), params=params)

    def get_trigger_run_status(self) -> _Call[TriggerRunStatus]:
        return _Call("GET", "/v1/trigger-runs/status", _one(TriggerRunStatus))

    def test_trigger(self, body: Any) -> _Call[SeekPage[TriggerEvent] | None]:
        data = p.body_of("body", body)
        for key in ("flowId", "flowVersionId", "testStrategy"):
            if key not in data:
                raise ImbraceConfigurationError(
                    f"test_trigger body needs {key!r}: {{'flowId', 'flowVersionId', 'testStrategy': "
                    f"'SIMULATION' | 'TEST_FUNCTION'}}."
                )
        page = _page(TriggerEvent)

        def parse(response: httpx.Response) -> SeekPage[TriggerEvent] | None:
            return None if json_or_none(response) is None else page(response)

        return _Call("POST", "/v1/test-trigger", parse, json=data)

    def list_invitations(
        self, type: str, limit: int, cursor: str | None, project_id: str | None, status: str | None
    ) -> _Call[SeekPage[Invitation]]:
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
        return _Call("GET", "/v1/user-invitations", _page(Invitation), params=params)

    def delete_invitation(self, invitation_id: str) -> _Call[None]:
        return _Call(
            "DELETE", f"/v1/user-invitations/{p.guard('invitation_id', invitation_id)}", _none
        )


def _check_strategy(strategy: str) -> None:
    if strategy not in ("FROM_FAILED_STEP", "ON_LATEST_VERSION"):
        raise ImbraceConfigurationError(
            f"strategy must be 'FROM_FAILED_STEP' or 'ON_LATEST_VERSION' (got {strategy!r})."
        )
