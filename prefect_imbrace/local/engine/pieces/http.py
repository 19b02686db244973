"""`@activepieces/piece-http` 0.9.5 Send HTTP request, with real HTTP (httpx).

Imbrace Local stays offline: only loopback hosts, plus hosts the operator allowed
(`RunContext.http_allow_hosts`), may be called. Properties follow the piece's metadata of that
version (`headers`, `queryParams` and `authType` are required; `authType` NONE, BASIC or
BEARER_TOKEN); a failed request raises the piece's HttpError message,
`{"response":{"status","body"},"request":{"body"}}`, status 500 when nothing answered.
"""

from __future__ import annotations

import base64
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
_AUTH_TYPES = [("None", "NONE"), ("Basic Auth", "BASIC"), ("Bearer Token", "BEARER_TOKEN")]


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


def _http_error(status: int, body: Any, request_body: Any) -> str:
    """The piece's HttpError message: compact JSON, keys without a value left out (as in JS)."""
    response: dict[str, Any] = {"status": status}
    if body is not None:
        response["body"] = body
    request = {} if request_body is None else {"body": request_body}
    return json.dumps({"response": response, "request": request}, separators=(",", ":"))


def _auth(inputs: dict) -> dict[str, str]:
    """The Authorization header for `authType` BASIC or BEARER_TOKEN (NONE: none)."""
    kind = inputs.get("authType") or "NONE"
    given = inputs.get("authFields")
    fields: dict[str, Any] = given if isinstance(given, dict) else {}
    if kind == "BASIC":
        pair = f"{fields.get('username') or ''}:{fields.get('password') or ''}"
        return {"authorization": "Basic " + base64.b64encode(pair.encode()).decode()}
    if kind == "BEARER_TOKEN":
        return {"authorization": f"Bearer {fields.get('token') or ''}"}
    if kind != "NONE":
        raise StepFailed(f"Send HTTP request: authType must be NONE, BASIC or BEARER_TOKEN, "
                         f"got {kind!r}")
    return {}


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
    if call.input.get("use_proxy") in (True, "true"):
        raise StepFailed("Send HTTP request: Imbrace Local does not send requests through a proxy "
                         "(use_proxy)")
    kwargs = _request_kwargs(call.input)
    headers = {**_as_str_map(call.input.get("headers"), "headers"), **_auth(call.input),
               **kwargs.pop("headers", {})}
    timeout = call.input.get("timeout")
    timeout = float(timeout) if isinstance(timeout, (int, float)) and timeout > 0 else None
    body = call.input.get("body")
    request_body = body.get("data") if isinstance(body, dict) and call.input.get(
        "body_type") not in (None, "none") else None
    import httpx

    try:
        async with httpx.AsyncClient(timeout=timeout, follow_redirects=True) as client:
            response = await client.request(
                method, str(url), headers=headers,
                params=_as_str_map(call.input.get("queryParams"), "queryParams"), **kwargs,
            )
    except Exception as exc:  # no answer: the piece's error says status 500 and nothing else
        raise StepFailed(_http_error(500, None, request_body)) from exc
    answer = _parse_body(response)
    if response.is_success:
        return {"status": response.status_code, "headers": dict(response.headers), "body": answer}
    if call.input.get("failsafe"):
        return json.loads(_http_error(response.status_code, answer, request_body))
    raise StepFailed(_http_error(response.status_code, answer, request_body))


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
                "headers": prop("Headers", "OBJECT", True),
                "queryParams": prop("Query params", "OBJECT", True),
                "authType": dropdown("Authentication", _AUTH_TYPES, True, default="NONE"),
                "authFields": prop("Authentication Fields", "DYNAMIC", False, refreshers=["authType"]),
                "body_type": dropdown("Body Type", _BODY_TYPES, default="none"),
                "body": prop("Body", "DYNAMIC", False, refreshers=["body_type"]),
                "use_proxy": prop("Use Proxy", "CHECKBOX", False, defaultValue=False),
                "proxy_settings": prop("Proxy Settings", "DYNAMIC", False, refreshers=["use_proxy"]),
                "timeout": prop("Timeout(in seconds)", "NUMBER", False),
                "failsafe": prop("No Error on Failure", "CHECKBOX", False),
            },
            send_request,
            retry_default=True,
        ),
    ],
)
