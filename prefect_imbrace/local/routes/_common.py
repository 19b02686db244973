"""Request parsing and answer helpers shared by every route module.

Requests are parsed by hand (qs-style query strings, JSON bodies) and checked by
`validation.validate`, so every error has the engine's shape rather than FastAPI's. Each route is
registered through `endpoint`, which also records its schemas for the served OpenAPI document.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from ..backend import Backend, Principal
from ..backend.common import ID_PATTERN
from ..errors import EngineError, FrameworkError
from ..qs import parse_qs
from ..validation import validate

JSON_TYPE = "application/json; charset=utf-8"
PREFIX = "/activepieces/v1"
ID = {"type": "string", "pattern": ID_PATTERN}
LIMIT = {"type": "number", "default": 10}
CURSOR = {"type": "string"}
PAGE = {"limit": LIMIT, "cursor": CURSOR}

# (method, path, summary, params, query, body, ok-status) for the OpenAPI document.
SPEC: list[dict[str, Any]] = []


def endpoint(router: APIRouter, methods: list[str], path: str, summary: str, *, params: dict[str, Any] | None = None,
             query: dict[str, Any] | None = None, body: dict[str, Any] | None = None, ok: int = 200,
             spec: bool = True) -> Callable[[Callable[[Request], Awaitable[Response]]], Callable[[Request], Awaitable[Response]]]:
    def register(handler: Callable[[Request], Awaitable[Response]]) -> Callable[[Request], Awaitable[Response]]:
        router.add_api_route(path, handler, methods=methods, include_in_schema=False)
        if spec:
            for method in methods:
                SPEC.append({"method": method.lower(), "path": path, "summary": summary, "params": params or {},
                             "query": query, "body": body, "ok": ok})
        return handler

    return register


def dumps(data: Any) -> bytes:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()


def ok(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(dumps(data), status_code=status, media_type=JSON_TYPE, headers=headers)


def empty(status: int) -> Response:
    return Response(b"", status_code=status)


def backend(request: Request) -> Backend:
    return request.app.state.backend


def principal(request: Request) -> Principal:
    found = request.scope.get("imbrace.principal")
    if found is None:  # only webhooks go without, and they never call this
        raise EngineError("AUTHORIZATION", {"message": "invalid route for principal type"})
    return found


def path_params(request: Request, schema: dict[str, Any]) -> dict[str, Any]:
    return validate({"type": "object", "properties": schema, "required": list(schema)},
                    dict(request.path_params), "params")


def path_id(request: Request, name: str = "id") -> str:
    return path_params(request, {name: ID})[name]


def query(request: Request, schema: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    raw = parse_qs(request.scope.get("query_string", b"").decode("latin-1"))
    return validate({"type": "object", "properties": schema, "required": required or []}, raw,
                    "querystring", coerce=True)


async def body_of(request: Request, schema: dict[str, Any]) -> Any:
    raw = await request.body()
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if not raw:
        if ctype == "application/json":
            raise FrameworkError(400, "Body cannot be empty when content-type is set to 'application/json'",
                                 code="FST_ERR_CTP_EMPTY_JSON_BODY")
        data: Any = None
    elif ctype == "application/json" or ctype.endswith("+json"):
        data = parse_json(raw)
    elif ctype.startswith("text/plain"):
        data = raw.decode("utf-8", "replace")
    else:
        raise FrameworkError(415, f"Unsupported Media Type: {ctype or 'none'}", code="FST_ERR_CTP_INVALID_MEDIA_TYPE")
    return validate(schema, data, "body", coerce=True)


def parse_json(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise FrameworkError(400, f"Body is not valid JSON: {exc}") from None


def same_project(who: Principal, *sources: dict[str, Any] | None) -> None:
    """A `projectId` in the query or body must be the caller's project (engine ProjectAuthz)."""
    for source in sources:
        if isinstance(source, dict) and source.get("projectId") not in (None, who.project_id):
            raise EngineError("AUTHORIZATION", {"message": "invalid project id"})
