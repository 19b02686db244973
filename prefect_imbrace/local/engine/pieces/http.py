"""`@activepieces/piece-http` Send HTTP request, with real HTTP (httpx).

Imbrace Local stays offline: only loopback hosts, plus hosts the operator allowed
(`RunContext.http_allow_hosts`), may be called.
"""

from __future__ import annotations

import ipaddress
import json
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ..errors import StepFailed
from .base import Action, Piece, StepCall, dropdown, prop

if TYPE_CHECKING:  # httpx is imported when a step runs: it costs ~0.4 s of server start-up
    import httpx

_METHODS = ["GET", "POST", "PATCH", "PUT", "DELETE", "HEAD"]
_BODY_TYPES = [("None", "none"), ("Form Data", "form_data"), ("JSON", "json"), ("Raw", "raw")]


def host_allowed(host: str, allowed: frozenset[str]) -> bool:
    host = host.strip("[]").lower()
    if host == "localhost" or host in {h.lower() for h in allowed}:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _parse_body(response: httpx.Response) -> Any:
    if not response.content:
        return ""
    try:
        return response.json()
    except ValueError:
        return response.text


def _as_str_map(value: Any, what: str) -> dict[str, str]:
    if value in (None, ""):
        return {}
    if not isinstance(value, dict):
        raise StepFailed(f"Send HTTP request: {what} must be an object")
    return {str(k): v if isinstance(v, str) else json.dumps(v) if isinstance(v, (dict, list))
            else str(v).lower() if isinstance(v, bool) else "" if v is None else str(v)
            for k, v in value.items()}


def _request_kwargs(inputs: dict) -> dict[str, Any]:
    body_type = inputs.get("body_type") or "none"
    body = inputs.get("body") or {}
    data = body.get("data") if isinstance(body, dict) else None
    if body_type == "none" or data is None:
        return {}
    if body_type == "json":
        if isinstance(data, str):
            return {"content": data.encode(), "headers": {"content-type": "application/json"}}
        return {"json": data}
    if body_type == "raw":
        return {"content": (data if isinstance(data, str) else json.dumps(data)).encode()}
    if body_type == "form_data":
        return {"files": {k: (None, v) for k, v in _as_str_map(data, "body.data").items()}}
    raise StepFailed(f"Send HTTP request: unknown body_type {body_type!r} (none, json, raw, form_data)")


async def send_request(call: StepCall) -> dict:
    method = str(call.input.get("method") or "").upper()
    if method not in _METHODS:
        raise StepFailed(f"Send HTTP request: method must be one of {', '.join(_METHODS)}")
    url = call.input.get("url")
    parts = urlsplit(str(url or ""))
    try:
        valid = parts.scheme in ("http", "https") and bool(parts.hostname) and (
            parts.port is None or parts.port > 0)
    except ValueError:  # a port out of range
        valid = False
    if not valid:
        raise StepFailed(f"Send HTTP request: {url!r} is not a usable http(s) URL")
    if not host_allowed(parts.hostname or "", call.ctx.http_allow_hosts):
        raise StepFailed(
            f"Send HTTP request: Imbrace Local only calls loopback hosts and hosts allowed with "
            f"allow_http_hosts; {parts.hostname!r} is not allowed"
        )
    kwargs = _request_kwargs(call.input)
    headers = {**_as_str_map(call.input.get("headers"), "headers"), **kwargs.pop("headers", {})}
    timeout = call.input.get("timeout")
    timeout = float(timeout) if isinstance(timeout, (int, float)) and timeout > 0 else None
    import httpx

    try:
        async with httpx.AsyncClient(timeout=timeout, follow_redirects=True) as client:
            response = await client.request(
                method, str(url), headers=headers,
                params=_as_str_map(call.input.get("queryParams"), "queryParams"), **kwargs,
            )
    except Exception as exc:  # any transport problem fails the step, as in the real piece
        raise StepFailed(f"Send HTTP request: {type(exc).__name__}: {exc}") from exc
    body = _parse_body(response)
    if response.is_success:
        return {"status": response.status_code, "headers": dict(response.headers), "body": body}
    error = {"response": {"status": response.status_code, "body": body}, "request": {}}
    if call.input.get("failsafe"):
        return error
    raise StepFailed(json.dumps(error))


PIECE = Piece(
    name="@activepieces/piece-http",
    display_name="HTTP",
    version="0.9.5",
    description="Sends HTTP requests and return responses",
    logo_url="https://cdn.activepieces.com/pieces/http.png",
    authors=["bibhuty-did-this", "landonmoir", "JanHolger", "Salem-Alaa", "kishanprmr",
             "AbdulTheActivePiecer", "khaledmashaly", "abuaboud", "pfernandez98"],
    categories=["CORE"],
    minimum_supported_release="0.20.3",
    actions=[
        Action(
            "send_request", "Send HTTP request", "Send HTTP request",
            {
                "method": dropdown("Method", [(m, m) for m in _METHODS], True),
                "url": prop("URL", "SHORT_TEXT", True),
                "headers": prop("Headers", "OBJECT", False),
                "queryParams": prop("Query params", "OBJECT", False),
                "body_type": dropdown("Body Type", _BODY_TYPES, default="none"),
                "body": prop("Body", "DYNAMIC", False, refreshers=["body_type"]),
                "timeout": prop("Timeout(in seconds)", "NUMBER", False),
                "failsafe": prop("No Error on Failure", "CHECKBOX", False),
            },
            send_request,
            retry_default=True,
        ),
    ],
)
