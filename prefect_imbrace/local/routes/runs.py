"""Flow runs: list (no steps), get (with steps), retry, bulk retry/cancel/archive (§7)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from ..backend.runs import STATUSES, wire
from ..errors import EngineError
from ._common import (
    ID,
    PAGE,
    PREFIX,
    backend,
    body_of,
    empty,
    endpoint,
    ok,
    path_id,
    path_params,
    principal,
    query,
    same_project,
)
from .webhooks import answer_response, read_inbound

router = APIRouter()
IDS = {"type": "array", "items": ID}
STATUS_LIST = {"type": "array", "items": {"type": "string", "enum": STATUSES}}
STRATEGY = {"type": "string", "enum": ["FROM_FAILED_STEP", "ON_LATEST_VERSION"]}
FILTERS = {
    "flowId": IDS, "status": STATUS_LIST, "createdAfter": {"type": "string"}, "createdBefore": {"type": "string"},
    "failedStepName": {"type": "string"}, "flowRunIds": IDS, "excludeFlowRunIds": IDS,
}
LIST_QUERY = {
    **PAGE, "projectId": {"type": "string"}, "flowId": IDS, "status": STATUS_LIST, "createdAfter": {"type": "string"},
    "createdBefore": {"type": "string"}, "tags": {"type": "array", "items": {"type": "string"}},
    "failedStepName": {"type": "string"}, "flowRunIds": IDS, "archived": {"type": "boolean"},
}
RETRY_BODY = {"type": "object", "required": ["strategy"], "properties": {"strategy": STRATEGY, "projectId": {"type": "string"}}}
BULK_RETRY = {"type": "object", "required": ["strategy"], "properties": {"strategy": STRATEGY, **FILTERS, "projectId": {"type": "string"}}}
CANCEL_BODY = {"type": "object", "properties": {
    **FILTERS, "status": {"type": "array", "items": {"type": "string", "enum": ["PAUSED", "QUEUED"]}},
    "projectId": {"type": "string"}}}
ARCHIVE_BODY = {"type": "object", "properties": {**FILTERS, "projectId": {"type": "string"}}}


@endpoint(router, ["GET"], PREFIX + "/flow-runs", "List production runs", query=LIST_QUERY)
async def list_runs(request: Request) -> Response:
    who = principal(request)
    q = query(request, LIST_QUERY)
    same_project(who, q)
    return ok(backend(request).runs.list(who, q))


@endpoint(router, ["GET"], PREFIX + "/flow-runs/{id}", "Get a run with its steps", params={"id": ID})
async def get_run(request: Request) -> Response:
    run_id = path_id(request)
    return ok(backend(request).runs.get(principal(request), run_id))


def _retry(request: Request, run: dict, strategy: str) -> dict:
    b = backend(request)
    previous = run["_steps"]
    target = b.runs.retry_target(principal(request), run, strategy)
    b.runner.retried(target, previous if strategy == "FROM_FAILED_STEP" else {})
    return wire(target, with_steps=True)


@endpoint(router, ["POST"], PREFIX + "/flow-runs/{id}/retry", "Retry one run", params={"id": ID}, body=RETRY_BODY)
async def retry_run(request: Request) -> Response:
    run_id = path_id(request)
    body = await body_of(request, RETRY_BODY)
    who = principal(request)
    same_project(who, body)
    run = backend(request).runs.owned(who, run_id)
    return ok(_retry(request, run, body["strategy"]))


@endpoint(router, ["POST"], PREFIX + "/flow-runs/retry", "Retry runs in bulk", body=BULK_RETRY)
async def retry_runs(request: Request) -> Response:
    body = await body_of(request, BULK_RETRY)
    who = principal(request)
    same_project(who, body)
    out: list[dict[str, Any] | None] = []
    for run in backend(request).runs.select(who, body):
        try:
            out.append(_retry(request, run, body["strategy"]))
        except EngineError:  # a run without a published version answers null
            out.append(None)
    return ok(out)


@endpoint(router, ["POST"], PREFIX + "/flow-runs/cancel", "Cancel QUEUED/PAUSED runs", body=CANCEL_BODY)
async def cancel_runs(request: Request) -> Response:
    body = await body_of(request, CANCEL_BODY)
    who = principal(request)
    same_project(who, body)
    b = backend(request)
    b.runner.cancelled(b.runs.cancel(who, body))
    return empty(200)


@endpoint(router, ["POST"], PREFIX + "/flow-runs/archive", "Archive runs", body=ARCHIVE_BODY)
async def archive_runs(request: Request) -> Response:
    body = await body_of(request, ARCHIVE_BODY)
    who = principal(request)
    same_project(who, body)
    backend(request).runs.archive(who, body)
    return empty(200)


RESUME_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]
RESUME_PARAMS = {"id": ID, "requestId": {"type": "string"}}


async def _resume(request: Request, sync: bool) -> Response:
    """A run paused by Respond and Wait for Next Webhook resumes with this request as payload."""
    params = path_params(request, RESUME_PARAMS)
    inbound = await read_inbound(request)
    payload = {"body": inbound.body, "headers": inbound.headers, "queryParams": inbound.query}
    answer = await backend(request).webhooks.resume(params["id"], params["requestId"], sync, payload)
    return answer_response(answer)


@endpoint(router, RESUME_METHODS, PREFIX + "/flow-runs/{id}/requests/{requestId}", "Resume a run waiting for a request",
          params=RESUME_PARAMS)
async def resume_request(request: Request) -> Response:
    return await _resume(request, sync=False)


@endpoint(router, RESUME_METHODS, PREFIX + "/flow-runs/{id}/requests/{requestId}/sync",
          "Resume a run waiting for a request and wait for its reply", params=RESUME_PARAMS)
async def resume_request_sync(request: Request) -> Response:
    return await _resume(request, sync=True)
