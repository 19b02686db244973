"""Builds the Imbrace Local ASGI app: gateway middleware, error handlers and routers.

`GatewayMiddleware` plays the Imbrace gateway in front of the engine: it normalises paths
(trailing slash, `/activepieces/api/v1` alias), echoes `x-request-id`, counts requests, applies
control-plane faults, and authenticates `/activepieces/*` calls (§1.2) before the engine routes
see them. The FastAPI app plays the engine; its handlers turn every error into the engine's shapes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, MutableMapping
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError as FastAPIValidationError
from starlette.exceptions import HTTPException
from starlette.responses import Response

from .backend import Backend, LocalConfig
from .backend.common import new_id
from .control import ControlState
from .errors import FrameworkError, LocalError
from .gauges import IN_FLIGHT, Gauges
from .qs import parse_qs
from .routes import connections, control, flows, folders, mcp, misc, pages, runs, tables, webhooks
from .routes._common import JSON_TYPE, dumps, ok

logger = logging.getLogger("prefect_imbrace.local")
_OPEN_PATHS = {"/", "/activepieces/openapi.json"}
NOT_FOUND = {"statusCode": 404, "error": "Not Found", "message": "Route not found"}


class LostResponse(Exception):
    """Raised after the response head is sent, so the server drops the connection (a fault)."""


class _DropLostResponse(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], LostResponse))


def _json_message(status: int, body: Any, request_id: str, extra: dict[str, str] | None = None) -> list[dict[str, Any]]:
    content = body if isinstance(body, bytes) else dumps(body) if not isinstance(body, str) else body.encode()
    headers = [(b"content-type", JSON_TYPE.encode() if not isinstance(body, str) else b"text/plain; charset=utf-8"),
               (b"content-length", str(len(content)).encode()), (b"x-request-id", request_id.encode())]
    for key, value in (extra or {}).items():
        headers.append((key.lower().encode(), str(value).encode()))
    return [{"type": "http.response.start", "status": status, "headers": headers},
            {"type": "http.response.body", "body": content}]


async def _read_ahead(receive: Any) -> Any:
    """Read the request body now; the returned `receive` hands it over, then the live channel."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            break
    pending = [{"type": "http.request", "body": b"".join(chunks), "more_body": False}]

    async def replay() -> dict[str, Any]:
        return pending.pop() if pending else await receive()

    return replay


class GatewayMiddleware:
    def __init__(self, app: FastAPI, backend: Backend, control_state: ControlState,
                 gauges: Gauges | None = None):
        self.app = app
        self.backend = backend
        self.control = control_state
        self.gauges = gauges or Gauges()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        if len(path) > 1 and path.endswith("/"):
            path = path.rstrip("/") or "/"
        if path.startswith("/activepieces/api/v1"):
            path = "/activepieces/v1" + path[len("/activepieces/api/v1"):]
        if path != scope["path"]:
            scope = {**scope, "path": path, "raw_path": path.encode()}
        method = scope["method"]
        if self.backend.runner.public_url is None and scope.get("server"):
            host, port = scope["server"][0], scope["server"][1]  # an app served some other way
            self.backend.runner.public_url = f"http://{host}:{port}/activepieces/"
        inbound = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"x-request-id"), None)
        request_id = inbound if inbound and len(inbound) <= 64 else "req_" + new_id()
        scope["imbrace.request_id"] = request_id

        if path.startswith("/_local"):
            await self._call_app(scope, receive, send, request_id)
            return
        self.control.requests[f"{method} {path}"] += 1
        self.gauges.count_request()
        query_string = scope.get("query_string", b"").decode("latin-1")
        fault = self.control.take_fault(method, path, query_string) if self.control.faults else None
        if fault is not None:
            if fault.latency_ms:
                # like an engine behind the gateway, the request is read whole before it is slow
                # to answer: a client that gives up meanwhile has still started its trigger
                receive = await _read_ahead(receive)
                await asyncio.sleep(fault.latency_ms / 1000)
            if fault.status is not None:
                body = fault.body if fault.body is not None else {"statusCode": fault.status, "message": "injected fault"}
                for message in _json_message(fault.status, body, request_id, fault.headers):
                    await send(message)
                return
        if path not in _OPEN_PATHS:
            try:
                headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
                query = parse_qs(scope.get("query_string", b"").decode("latin-1")) if b"organizationId" in scope.get("query_string", b"") else {}
                scope["imbrace.principal"] = self.backend.tenancy.authenticate(headers, query, "/webhooks" in path)
            except LocalError as exc:
                for message in _json_message(exc.status_code, exc.body(), request_id):
                    await send(message)
                return
        if fault is not None and fault.lost_response:
            await self._lose_response(scope, receive, send, request_id)
            return
        await self._call_app(scope, receive, send, request_id)

    async def _call_app(self, scope: dict[str, Any], receive: Any, send: Any, request_id: str) -> None:
        started = False

        async def send_with_id(message: MutableMapping[str, Any]) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message["headers"] = [*message.get("headers", []), (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            if started:
                return  # the error handler already answered (Starlette re-raises after it)
            self.control.unhandled_errors += 1
            logger.exception("unhandled error")
            for message in _json_message(500, {"statusCode": 500, "error": "Internal Server Error",
                                               "message": "Internal Server Error"}, request_id):
                await send(message)

    async def _lose_response(self, scope: dict[str, Any], receive: Any, send: Any, request_id: str) -> None:
        """Process the request fully, then send only the response head and drop the connection."""
        held: list[dict[str, Any]] = []

        async def hold(message: dict[str, Any]) -> None:
            held.append(message)

        await self._call_app(scope, receive, hold, request_id)
        start = next((m for m in held if m["type"] == "http.response.start"), None)
        if start is not None:
            await send(start)
        raise LostResponse(f"fault: response to {scope['method']} {scope['path']} dropped")


def build_app(config: LocalConfig, backend: Backend | None = None) -> GatewayMiddleware:
    backend = backend or Backend(config)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        backend.runner.attach(asyncio.get_running_loop())
        yield
        await backend.runner.close()

    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None, title="Imbrace Local", lifespan=lifespan)
    app.state.backend = backend
    app.state.control = ControlState()
    app.state.control_token = config.control_token
    app.state.gauges = Gauges()
    backend.store.on_run_write = app.state.gauges.observe_run
    app.state.gauges.reset({run["id"] for run in backend.store.all("run") if run["status"] in IN_FLIGHT})

    @app.exception_handler(LocalError)
    async def local_error(request: Request, exc: LocalError) -> Response:
        return ok(exc.body(), exc.status_code)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        if exc.status_code in (404, 405):
            return ok(NOT_FOUND, 404)
        return ok(FrameworkError(exc.status_code, str(exc.detail)).body(), exc.status_code)

    @app.exception_handler(FastAPIValidationError)
    async def fastapi_validation(request: Request, exc: FastAPIValidationError) -> Response:
        return ok(FrameworkError(400, "invalid request", code="FST_ERR_VALIDATION").body(), 400)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        app.state.control.unhandled_errors += 1
        logger.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
        return ok({"statusCode": 500, "error": "Internal Server Error", "message": str(exc) or type(exc).__name__}, 500)

    @app.get("/", include_in_schema=False)
    async def health(request: Request) -> Response:
        return ok({"status": "ok", "service": "imbrace-local", "engine": "activepieces 0.72.4"})

    @app.get("/activepieces/openapi.json", include_in_schema=False)
    async def openapi(request: Request) -> Response:
        from .openapi import build_openapi

        return ok(build_openapi())

    @app.get("/channel-service/v1/workflows/channel_automation", include_in_schema=False)
    async def channel_automation(request: Request) -> Response:
        # Channel automations live in Imbrace's channel-service, not the engine: always none here.
        return ok({"data": []})

    for module in (flows, runs, webhooks, folders, connections, mcp, tables, misc, control, pages):
        # Flattened into the app's own route list: matching through included routers costs
        # several times more per request in FastAPI >= 0.120.
        app.router.routes.extend(module.router.routes)

    logging.getLogger("uvicorn.error").addFilter(_DropLostResponse())
    return GatewayMiddleware(app, backend, app.state.control, app.state.gauges)
