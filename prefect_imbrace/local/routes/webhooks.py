"""Webhooks: any HTTP method, async/sync/draft/test variants (imbrace-api.md §6)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from ..backend.webhooks import WebhookAnswer
from ..qs import parse_qs
from ._common import ID, JSON_TYPE, PREFIX, backend, dumps, endpoint, parse_json, path_params

router = APIRouter()
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
MODES = {"": "async", "/sync": "sync", "/draft": "draft", "/draft/sync": "draft_sync", "/test": "test"}
STRIPPED = {"x-api-key", "authorization"}  # the gateway removes these before proxying
WEBHOOK_BODY = {"type": "object", "additionalProperties": True, "description": "any payload"}


def _body(raw: bytes, ctype: str) -> Any:
    if ctype == "application/json" or ctype.endswith("+json"):
        return parse_json(raw) if raw.strip() else {}
    if not raw:
        return {}
    text = raw.decode("utf-8", "replace")
    if ctype == "application/x-www-form-urlencoded":
        return parse_qs(text)
    return text


@dataclass
class InboundRequest:
    """A request as the flow sees it (behind the gateway): parsed body, headers, query."""

    method: str
    headers: dict[str, str]
    body: Any
    query: dict[str, Any]
    raw: str


async def read_inbound(request: Request) -> InboundRequest:
    """Parse a webhook or resume request; gateway-stripped headers gone, its own added."""
    raw = await request.body()
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    headers = {k.lower(): v for k, v in request.headers.items() if k.lower() not in STRIPPED}
    who = request.scope.get("imbrace.principal")
    if who is not None:
        headers.update(who.forwarded_headers())
    headers["x-request-id"] = request.scope["imbrace.request_id"]
    query = parse_qs(request.scope.get("query_string", b"").decode("latin-1"))
    return InboundRequest(request.method, headers, _body(raw, ctype), query, raw.decode("utf-8", "replace"))


def answer_response(answer: WebhookAnswer) -> Response:
    """The HTTP response of a webhook answer: JSON, text, or an empty body."""
    if answer.body is None:
        return Response(b"", status_code=answer.status, headers=answer.headers)
    if isinstance(answer.body, str):
        media = answer.headers.pop("content-type", "text/plain; charset=utf-8")
        return Response(answer.body.encode(), status_code=answer.status, media_type=media, headers=answer.headers)
    media = answer.headers.pop("content-type", JSON_TYPE)
    try:
        content = dumps(answer.body)
    except (TypeError, ValueError):
        content = json.dumps(answer.body, default=str).encode()
    return Response(content, status_code=answer.status, media_type=media, headers=answer.headers)


def _handler(mode: str):
    async def handle(request: Request) -> Response:
        flow_id = path_params(request, {"flowId": ID})["flowId"]
        inbound = await read_inbound(request)
        answer = await backend(request).webhooks.handle(
            flow_id, mode, inbound.method, inbound.headers, inbound.body, inbound.query, inbound.raw,
        )
        return answer_response(answer)

    handle.__name__ = f"webhook_{mode}"
    return handle


for suffix, mode in MODES.items():
    endpoint(
        router, METHODS, PREFIX + "/webhooks/{flowId}" + suffix, f"Webhook ({mode})",
        params={"flowId": ID}, body=WEBHOOK_BODY, spec=True,
    )(_handler(mode))
