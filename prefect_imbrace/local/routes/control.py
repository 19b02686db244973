"""The control plane under `/_local` (architecture.md §1), guarded by `x-control-token`."""

from __future__ import annotations

import hmac
import re

from fastapi import APIRouter, Request
from starlette.responses import Response

from ..backend.runs import touch
from ..errors import EngineError, FrameworkError, GatewayError
from ._common import backend, body_of, endpoint, ok

router = APIRouter()
FAULT_BODY = {"type": "object", "required": ["path"], "properties": {
    "path": {"type": "string"}, "method": {"type": ["string", "null"]}, "status": {"type": ["integer", "null"]},
    "headers": {"type": "object", "additionalProperties": True}, "body": {}, "times": {"type": "integer", "minimum": 1},
    "latency_ms": {"type": "integer", "minimum": 0}, "lost_response": {"type": "boolean"},
    "query": {"type": ["string", "null"]}}}
STATUS_BODY = {"type": "object", "required": ["status"], "properties": {"status": {"type": "string"}}}


def _guard(request: Request) -> None:
    token = request.app.state.control_token
    sent = request.headers.get("x-control-token", "")
    if not token or not hmac.compare_digest(sent.encode(), token.encode()):
        raise GatewayError(401, {"message": "Unauthorized - control token required"})


@endpoint(router, ["POST"], "/_local/reset", "Reset state", spec=False)
async def reset(request: Request) -> Response:
    _guard(request)
    backend(request).reset()
    request.app.state.control.reset()
    request.app.state.gauges.reset()
    return ok({})


@endpoint(router, ["POST"], "/_local/faults", "Add a fault", spec=False)
async def add_fault(request: Request) -> Response:
    _guard(request)
    spec = await body_of(request, FAULT_BODY)
    try:
        fault_id = request.app.state.control.add_fault(spec)
    except re.error as exc:
        raise FrameworkError(400, f"invalid fault: {exc}", code="FST_ERR_VALIDATION") from None
    return ok({"id": fault_id})


@endpoint(router, ["GET"], "/_local/faults", "List live faults", spec=False)
async def list_faults(request: Request) -> Response:
    _guard(request)
    return ok({"data": request.app.state.control.list_faults()})


@endpoint(router, ["DELETE"], "/_local/faults", "Clear faults", spec=False)
async def clear_faults(request: Request) -> Response:
    _guard(request)
    request.app.state.control.clear_faults()
    return ok({})


@endpoint(router, ["GET"], "/_local/counters", "Counters", spec=False)
async def counters(request: Request) -> Response:
    _guard(request)
    control = request.app.state.control
    return ok({
        "requests": dict(control.requests), "runs_per_flow": dict(backend(request).runner.runs_per_flow),
        "faults_fired": control.faults_fired, "unhandled_errors": control.unhandled_errors,
        **request.app.state.gauges.snapshot(),
        "since": control.since, "state_restored": backend(request).restored,
    })


@endpoint(router, ["POST"], "/_local/runs/{id}/status", "Force a run status", spec=False)
async def set_run_status(request: Request) -> Response:
    _guard(request)
    body = await body_of(request, STATUS_BODY)
    b = backend(request)
    run = b.store.get("run", request.path_params["id"])
    if run is None:
        raise EngineError("FLOW_RUN_NOT_FOUND", {"id": request.path_params["id"]})
    b.store.put("run", touch(run, status=body["status"]))
    return ok({"id": run["id"], "status": run["status"]})


@endpoint(router, ["POST"], "/_local/runs/{id}/resume", "Resume a PAUSED run now", spec=False)
async def resume_run(request: Request) -> Response:
    _guard(request)
    b = backend(request)
    run = b.store.get("run", request.path_params["id"])
    if run is None or run["status"] != "PAUSED":
        raise EngineError("VALIDATION", {"message": "Flow run is not paused"})
    b.runner.resume_now(run["id"])
    return ok({"id": run["id"], "status": run["status"]})
