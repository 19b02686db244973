"""`@activepieces/piece-webhook`: the Catch Webhook trigger, Return Response, and Respond and
Wait for Next Webhook (the pause an approval flow uses)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from ...clock import engine_now
from ..errors import PauseRun, StepFailed, StopRun
from .base import Action, Piece, StepCall, Trigger, dropdown, prop

NAME = "@activepieces/piece-webhook"
RESUME_HEADER = "x-activepieces-resume-webhook-url"
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


def resume_url(call: StepCall) -> str:
    """The URL that resumes this run (`.../flow-runs/{id}/requests/{requestId}/sync?...`).

    Built as the engine builds it: on its public URL, with the pause's request id and the
    `created`/`runId` query the piece adds.
    """
    ctx = call.ctx
    created = engine_now().isoformat(timespec="milliseconds").replace("+00:00", "Z")
    base = ctx.public_url if ctx.public_url.endswith("/") else ctx.public_url + "/"
    return (f"{base}api/v1/flow-runs/{ctx.run_id}/requests/{ctx.pause_request_id}/sync?"
            + urlencode({"created": created, "runId": ctx.run_id}))


async def respond_and_wait(call: StepCall) -> dict:
    """First pass: answer the webhook caller (resume URL in a header) and pause the run.

    Resumed by a request to that URL: the step's output is that request's body, headers and
    query parameters, and the run goes on.
    """
    if call.resumed:
        payload = call.ctx.resume_payload or {}
        return {"body": payload.get("body"), "headers": payload.get("headers") or {},
                "queryParams": payload.get("queryParams") or {}}
    inputs = dict(call.input)
    fields = inputs.get("fields")
    if inputs.get("responseType") == "redirect" and isinstance(fields, dict) and "url" not in fields:
        inputs["fields"] = {**fields, "url": fields.get("body")}  # this action's URL is `body`
    reply = build_reply(inputs)
    url = resume_url(call)
    reply["headers"] = {**reply["headers"], RESUME_HEADER: url}
    if call.respond is not None:
        await call.respond(reply)
    raise PauseRun(response=reply, output={"nextWebhookUrl": url})


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
        Action(
            "return_response_and_wait_for_next_webhook", "Respond and Wait for Next Webhook",
            "return a response and wait for the next webhook to resume the flow",
            {
                "markdown": prop("Markdown", "MARKDOWN"),
                "responseType": dropdown("Response Type", _RESPONSE_TYPES, default="json"),
                "fields": prop("Response", "DYNAMIC", True, refreshers=["responseType"]),
            },
            respond_and_wait,
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
