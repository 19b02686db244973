"""Flow runs (imbrace-api.md §7): list, read, retry, cancel, archive, resume a paused run."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal, TypedDict

import httpx
from pydantic import TypeAdapter
from typing_extensions import Unpack

from ...exceptions import ImbraceConfigurationError
from .. import _params as p
from .._base import Call, Timeout, json_or_none
from .._resource import endpoint, nothing, one, page_of, paged
from ..models import FlowRun
from ..models.webhooks import SyncOutcome, SyncReply
from ..pagination import SeekPage
from .flows import StrList, sync_outcome, sync_reply_call

__all__ = ["RunEndpoints", "RunSelection", "RunStrategy"]

RunStrategy = Literal["FROM_FAILED_STEP", "ON_LATEST_VERSION"]

_OPTIONAL_RUNS = TypeAdapter(list[FlowRun | None])


def _strategy(strategy: str) -> str:
    if strategy not in ("FROM_FAILED_STEP", "ON_LATEST_VERSION"):
        raise ImbraceConfigurationError(
            f"strategy must be 'FROM_FAILED_STEP' or 'ON_LATEST_VERSION' (got {strategy!r})."
        )
    return strategy


class RunSelection(TypedDict, total=False):
    """Which runs a bulk call (`retry_runs`, `cancel_runs`, `archive_runs`) acts on."""

    flow_run_ids: StrList
    exclude_flow_run_ids: StrList
    status: StrList
    flow_id: StrList
    created_after: datetime | str | None
    created_before: datetime | str | None


def _selection(selection: RunSelection, failed_step_name: str | None = None) -> dict[str, Any]:
    """The body that selects runs for a bulk call; refuses to select every run of the project."""
    unknown = set(selection) - set(RunSelection.__annotations__)
    if unknown:
        raise ImbraceConfigurationError(
            f"Unknown run selector(s) {sorted(unknown)}; use {sorted(RunSelection.__annotations__)} "
            f"or failed_step_name."
        )
    body = p.without_none(
        flowRunIds=p.str_list("flow_run_ids", selection.get("flow_run_ids"), ids=True),
        excludeFlowRunIds=p.str_list(
            "exclude_flow_run_ids", selection.get("exclude_flow_run_ids"), ids=True
        ),
        status=p.str_list("status", selection.get("status")),
        flowId=p.str_list("flow_id", selection.get("flow_id"), ids=True),
        createdAfter=p.iso("created_after", selection.get("created_after")),
        createdBefore=p.iso("created_before", selection.get("created_before")),
        failedStepName=failed_step_name,
    )
    if not set(body) - {"excludeFlowRunIds"}:
        raise ImbraceConfigurationError(
            "Select the runs: pass flow_run_ids=, flow_id=, status=, created_after=/created_before= "
            "or failed_step_name= (an unfiltered bulk call would act on every run of the project)."
        )
    return body


def resume_outcome(response: httpx.Response) -> SyncOutcome | None:
    """Classify the answer of a sync resume request; None is an engine refusal to raise.

    The engine refuses with 404 `{}` (another request id, or a run paused by a delay), 409
    `Flow run is not paused` and 400 `FLOW_RUN_NOT_FOUND`; anything else is the resumed run's
    reply (any status its Return Response chose), 204 or a sync failure, as for a webhook.
    """
    status, body = response.status_code, json_or_none(response)
    if status == 404 and body in (None, {}):
        return None
    if status == 409 and isinstance(body, dict) and "flowRunStatus" in body:
        return None
    if status == 400 and isinstance(body, dict) and body.get("code") == "FLOW_RUN_NOT_FOUND":
        return None
    if status in (401, 403, 429, 502, 503):  # the gateway's answers, not the flow's
        return None
    return sync_outcome(response) or SyncOutcome.REPLIED


def _optional_runs(response: httpx.Response) -> list[FlowRun | None]:
    return _OPTIONAL_RUNS.validate_python(json_or_none(response) or [])


class RunEndpoints:
    """Imbrace flow runs (PRODUCTION runs; lists carry no step outputs)."""

    @endpoint
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
        timeout: Timeout = None,
    ) -> Call[SeekPage[FlowRun]]:
        """One page of PRODUCTION runs, newest first, without `steps` (`GET /v1/flow-runs`)."""
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
        return Call("GET", "/v1/flow-runs", page_of(FlowRun), params=params, timeout=timeout)

    iter_runs = paged(list_runs)

    @endpoint
    def get_run(self, run_id: str, *, timeout: Timeout = None) -> Call[FlowRun]:
        """One run with its `steps` (`GET /v1/flow-runs/{id}`); unknown ids raise `NotFoundError`."""
        path = f"/v1/flow-runs/{p.guard_id('run_id', run_id)}"
        return Call("GET", path, one(FlowRun), timeout=timeout)

    @endpoint
    def retry_run(
        self, run_id: str, strategy: RunStrategy = "FROM_FAILED_STEP", *, timeout: Timeout = None
    ) -> Call[FlowRun]:
        """Retry one run (`POST /v1/flow-runs/{id}/retry`).

        FROM_FAILED_STEP resumes the same run; ON_LATEST_VERSION starts a new run (returned).
        """
        body = {"strategy": _strategy(strategy)}
        path = f"/v1/flow-runs/{p.guard_id('run_id', run_id)}/retry"
        return Call("POST", path, one(FlowRun), json=body, timeout=timeout)

    @endpoint
    def retry_runs(
        self,
        *,
        strategy: RunStrategy = "FROM_FAILED_STEP",
        failed_step_name: str | None = None,
        timeout: Timeout = None,
        **selection: Unpack[RunSelection],
    ) -> Call[list[FlowRun | None]]:
        """Retry the selected runs (`POST /v1/flow-runs/retry`); `selection` is a `RunSelection`."""
        body = {"strategy": _strategy(strategy), **_selection(selection, failed_step_name)}
        return Call("POST", "/v1/flow-runs/retry", _optional_runs, json=body, timeout=timeout)

    @endpoint
    def cancel_runs(
        self, *, timeout: Timeout = None, **selection: Unpack[RunSelection]
    ) -> Call[None]:
        """Cancel the selected PAUSED/QUEUED runs (`POST /v1/flow-runs/cancel`)."""
        body = _selection(selection)
        return Call("POST", "/v1/flow-runs/cancel", nothing, json=body, timeout=timeout)

    @endpoint
    def archive_runs(
        self,
        *,
        failed_step_name: str | None = None,
        timeout: Timeout = None,
        **selection: Unpack[RunSelection],
    ) -> Call[None]:
        """Archive the selected runs (`POST /v1/flow-runs/archive`)."""
        body = _selection(selection, failed_step_name)
        return Call("POST", "/v1/flow-runs/archive", nothing, json=body, timeout=timeout)

    @endpoint
    def resume_run(
        self,
        run_id: str,
        request_id: str,
        payload: Any = None,
        *,
        headers: Mapping[str, str] | None = None,
        timeout: Timeout = None,
    ) -> Call[SyncReply]:
        """Resume a run paused by Respond and Wait for Next Webhook, and wait for its next reply.

        `POST /v1/flow-runs/{id}/requests/{requestId}/sync`, the URL the paused step hands out
        (`FlowRun.resume_url`, or the `x-activepieces-resume-webhook-url` header of its reply;
        `FlowRun.resume_request_id` is the `request_id` in it). `payload` becomes the step's
        `body`. Answers like a sync webhook (`SyncReply`): the next Return Response, or
        NO_REPLY when none came within the engine's hold. Another request id raises
        `NotFoundError`; a run that is not PAUSED (for example resumed already) `ConflictError`.
        """
        path = (f"/v1/flow-runs/{p.guard_id('run_id', run_id)}/requests/"
                f"{p.guard_id('request_id', request_id)}/sync")
        return sync_reply_call(path, payload, resume_outcome, headers=headers, timeout=timeout)
