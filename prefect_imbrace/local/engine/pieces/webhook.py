"""`@activepieces/piece-webhook`: the Catch Webhook trigger and the Return Response action."""

from __future__ import annotations

import json
from typing import Any

from ..errors import StepFailed, StopRun
from .base import Action, Piece, StepCall, Trigger, dropdown, prop

NAME = "@activepieces/piece-webhook"
_RESPONSE_TYPES = [("JSON", "json"), ("Raw", "raw"), ("Redirect", "redirect")]


def build_reply(inputs: dict) -> dict:
    """`{status, headers, body}` from the action's inputs (json, raw or redirect)."""
    fields = inputs.get("fields") or {}
    if not isinstance(fields, dict):
        raise StepFailed("Return Response: 'fields' must be an object")
    kind = inputs.get("responseType") or "json"
    headers = fields.get("headers") or {}
    if not isinstance(headers, dict):
        raise StepFailed("Return Response: 'fields.headers' must be an object")
    headers = {str(k): "" if v is None else str(v) for k, v in headers.items()}
    if kind == "redirect":
        url = fields.get("url")
        if not url:
            raise StepFailed("Return Response: a redirect needs 'fields.url'")
        return {"status": 301, "headers": {**headers, "Location": str(url)}, "body": str(url)}
    status = fields.get("status", 200)
    try:
        status = int(status if status not in (None, "") else 200)
    except (TypeError, ValueError) as exc:
        raise StepFailed(f"Return Response: status {status!r} is not a number") from exc
    body: Any = fields.get("body", {})
    if kind == "json" and isinstance(body, str):
        try:
            body = json.loads(body)
        except ValueError:
            pass
    elif kind == "raw" and not isinstance(body, str):
        body = "" if body is None else json.dumps(body)
    elif kind not in ("json", "raw"):
        raise StepFailed(f"Return Response: unknown responseType {kind!r} (json, raw, redirect)")
    return {"status": status, "headers": headers, "body": body}


async def return_response(call: StepCall) -> dict:
    reply = build_reply(call.input)
    if call.respond is not None:
        await call.respond(reply)
    if (call.input.get("respond") or "stop") == "stop":
        raise StopRun(reply)
    return reply


PIECE = Piece(
    name=NAME,
    display_name="Webhook",
    version="0.1.25",
    description="Receive HTTP requests and trigger flows using unique URLs.",
    logo_url="https://cdn.activepieces.com/pieces/webhook.svg",
    authors=["abuaboud", "pfernandez98", "kishanprmr", "AbdulTheActivePiecer"],
    categories=["CORE"],
    minimum_supported_release="0.52.0",
    actions=[
        Action(
            "return_response", "Return Response", "return a response",
            {
                "responseType": dropdown("Response Type", _RESPONSE_TYPES, default="json"),
                "fields": prop("Response", "DYNAMIC", True, refreshers=["responseType"]),
                "respond": dropdown("Flow Execution",
                                    [("Stop", "stop"), ("Respond and Continue", "respond")],
                                    default="stop"),
            },
            return_response,
        ),
    ],
    triggers=[
        Trigger(
            "catch_webhook", "Catch Webhook",
            "Receive incoming HTTP/webhooks using any HTTP method such as GET, POST, PUT, DELETE, etc.",
            {
                "authType": dropdown("Authentication",
                                     [("None", "none"), ("Basic Auth", "basic"),
                                      ("Header Auth", "header")], True, default="none"),
                "authFields": prop("Authentication Fields", "DYNAMIC", False,
                                   refreshers=["authType"]),
            },
        ),
    ],
)
