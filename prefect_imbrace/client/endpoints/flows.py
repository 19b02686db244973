"""Project, flows and webhooks (imbrace-api.md §3-§6)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timezone
from typing import Any, Literal

import httpx

from .. import _params as p
from .._base import Call, Timeout
from .._resource import endpoint, nothing, one, page_of, paged
from ..models import Flow, Project
from ..models.webhooks import SyncOutcome, SyncReply, TriggerReceipt
from ..operations import FlowOperation, as_operation
from ..pagination import SeekPage

__all__ = ["SYNC_WEBHOOK_READ_TIMEOUT", "FlowEndpoints", "StrList", "sync_outcome"]

StrList = str | Iterable[str] | None

SYNC_WEBHOOK_READ_TIMEOUT = 40.0
"""Longer than the engine's 30 s hold (`WEBHOOK_TIMEOUT_SECONDS`), so its 204 reaches us."""

_SYNC_RUN_FAILED = (
    "The flow has failed and there is no response returned",
    "An internal error has occurred",
)
_SYNC_TIMED_OUT = "The request took too long to reply"


def _message_of(response: httpx.Response) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    message = body.get("message") if isinstance(body, dict) else None
    return message if isinstance(message, str) else None


def sync_outcome(response: httpx.Response) -> SyncOutcome | None:
    """Classify a sync webhook answer; None means "an error to raise" (disabled, gone, gateway failure)."""
    status = response.status_code
    if status in (404, 410):
        return None
    if status == 204:
        return SyncOutcome.NO_REPLY
    if status == 500 and _message_of(response) in _SYNC_RUN_FAILED:
        return SyncOutcome.RUN_FAILED
    if status == 504 and _message_of(response) == _SYNC_TIMED_OUT:
        return SyncOutcome.RUN_TIMED_OUT
    if status < 400 or "x-webhook-id" in response.headers:
        return SyncOutcome.REPLIED
    return None


def _reply_body(response: httpx.Response) -> Any:
    """A reply's body: parsed JSON, else its text; None when empty."""
    if not response.content:
        return None
    if "json" in response.headers.get("content-type", ""):
        try:
            return response.json()
        except ValueError:
            return response.text
    return response.text


def sync_reply_call(
    path: str,
    payload: Any,
    classify: Callable[[httpx.Response], SyncOutcome | None],
    *,
    headers: Mapping[str, str] | None,
    timeout: Timeout,
    flow_id: str | None = None,
) -> Call[SyncReply]:
    """A POST the engine answers as a sync webhook: a `SyncReply`, or an error to raise.

    `classify` tells a reply (`SyncOutcome`) from a refusal (None, raised as an API error);
    `flow_id` marks a webhook route (404/410 then mean disabled/gone). The read timeout outlasts
    the engine's 30 s hold. Shared by `trigger_flow_sync` and `resume_run`.
    """
    body = p.json_payload(payload)
    sent_at = datetime.now(timezone.utc)

    def parse(response: httpx.Response) -> SyncReply:
        outcome = classify(response)
        assert outcome is not None  # refusals were raised before parsing
        return SyncReply(
            outcome=outcome,
            status_code=response.status_code,
            headers={k.lower(): v for k, v in response.headers.items()},
            body=_reply_body(response),
            webhook_id=response.headers.get("x-webhook-id"),
            flow_id=flow_id,
            sent_at=sent_at,
        )

    return Call(
        "POST",
        path,
        parse,
        json=body,
        headers=headers,
        timeout=timeout,
        min_read_timeout=SYNC_WEBHOOK_READ_TIMEOUT,
        webhook_flow_id=flow_id,
        accept_error=lambda response: classify(response) is not None,
    )


def _webhook_path(flow_id: str, *, draft: bool, sync: bool) -> str:
    path = f"/v1/webhooks/{p.guard_id('flow_id', flow_id)}"
    return path + ("/draft" if draft else "") + ("/sync" if sync else "")


class FlowEndpoints:
    """The caller's project, Imbrace flows and their webhooks."""

    @endpoint
    def get_project(self, *, timeout: Timeout = None) -> Call[Project]:
        """The caller's workflow project (`GET /v1/users/projects/current`)."""
        return Call("GET", "/v1/users/projects/current", one(Project), timeout=timeout)

    @endpoint
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
        timeout: Timeout = None,
    ) -> Call[SeekPage[Flow]]:
        """One page of flows, most recently updated first (`GET /v1/flows`).

        `folder_id="NULL"` selects uncategorised flows; `tags` must all be present.
        """
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
        return Call("GET", "/v1/flows", page_of(Flow), params=params, timeout=timeout)

    iter_flows = paged(list_flows)

    @endpoint
    def get_flow(
        self, flow_id: str, *, version_id: str | None = None, timeout: Timeout = None
    ) -> Call[Flow]:
        """One flow with its latest version (or `version_id`) (`GET /v1/flows/{id}`)."""
        path = f"/v1/flows/{p.guard_id('flow_id', flow_id)}"
        return Call("GET", path, one(Flow), params={"versionId": version_id}, timeout=timeout)

    @endpoint
    def create_flow(
        self,
        display_name: str,
        project_id: str | None = None,
        *,
        folder_id: str | None = None,
        folder_name: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        timeout: Timeout = None,
    ) -> Call[Flow]:
        """A new DISABLED flow with an EMPTY trigger (`POST /v1/flows`, 201)."""
        p.guard("display_name", display_name)
        body = p.without_none(
            displayName=display_name,
            projectId=project_id,
            folderId=folder_id,
            folderName=folder_name,
            metadata=None if metadata is None else dict(metadata),
        )
        return Call("POST", "/v1/flows", one(Flow), json=body, timeout=timeout)

    @endpoint
    def delete_flow(self, flow_id: str, *, timeout: Timeout = None) -> Call[None]:
        """Delete a flow (`DELETE /v1/flows/{id}`, 204); the engine removes it about a second later."""
        path = f"/v1/flows/{p.guard_id('flow_id', flow_id)}"
        return Call("DELETE", path, nothing, timeout=timeout)

    @endpoint
    def apply_flow_operation(
        self,
        flow_id: str,
        operation: FlowOperation | Mapping[str, Any] | None = None,
        *,
        body: FlowOperation | Mapping[str, Any] | None = None,
        timeout: Timeout = None,
    ) -> Call[Flow]:
        """Apply one operation (`ops.lock_and_publish()`, `ops.add_action(...)`, ...) (`POST /v1/flows/{id}`).

        `body=` is the official SDK's name for the same argument.
        """
        path = f"/v1/flows/{p.guard_id('flow_id', flow_id)}"
        chosen: FlowOperation | Mapping[str, Any] = p.one_of(
            "apply_flow_operation", operation=operation, body=body
        )
        return Call("POST", path, one(Flow), json=as_operation(chosen), timeout=timeout)

    @endpoint
    def trigger_flow(
        self,
        flow_id: str,
        payload: Any = None,
        *,
        headers: Mapping[str, str] | None = None,
        draft: bool = False,
        timeout: Timeout = None,
    ) -> Call[TriggerReceipt]:
        """Start a run through the async webhook (`POST /v1/webhooks/{id}[/draft]`).

        Never re-sent once it may have arrived: a lost answer raises `RequestOutcomeUnknownError`.
        404 -> `FlowDisabledError`, 410 -> `FlowGoneError`.
        """
        path = _webhook_path(flow_id, draft=draft, sync=False)
        body = p.json_payload(payload)
        sent_at = datetime.now(timezone.utc)

        def parse(response: httpx.Response) -> TriggerReceipt:
            return TriggerReceipt(
                flow_id=flow_id,
                webhook_id=response.headers.get("x-webhook-id"),
                status_code=response.status_code,
                sent_at=sent_at,
            )

        return Call(
            "POST",
            path,
            parse,
            json=body,
            headers=headers,
            timeout=timeout,
            webhook_flow_id=flow_id,
        )

    @endpoint
    def trigger_flow_sync(
        self,
        flow_id: str,
        payload: Any = None,
        *,
        headers: Mapping[str, str] | None = None,
        draft: bool = False,
        timeout: Timeout = None,
    ) -> Call[SyncReply]:
        """Run the flow and wait for its Return Response step (`POST /v1/webhooks/{id}[/draft]/sync`).

        The default read timeout (40 s) outlasts the engine's 30 s hold; see `SyncReply.outcome`.
        """
        path = _webhook_path(flow_id, draft=draft, sync=True)
        return sync_reply_call(path, payload, sync_outcome, headers=headers, timeout=timeout,
                               flow_id=flow_id)
