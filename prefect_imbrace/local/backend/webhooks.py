"""Webhook calls and their outcome table (imbrace-api.md §6.1).

The flow is looked up without tenancy (webhooks are unauthenticated on the engine side). Every
answer carries `x-webhook-id`, a fresh id that is *not* the run id (as on the real engine).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from .. import engine
from ..store import Store
from .common import new_id
from .runner import Runner, record_trigger

FAILED_REPLY = (500, {"message": "The flow has failed and there is no response returned"})
INTERNAL_REPLY = (500, {"message": "An internal error has occurred"})
TIMEOUT_REPLY = (504, {"message": "The request took too long to reply"})


@dataclass
class WebhookAnswer:
    status: int
    body: Any = None  # dict/list -> JSON, str -> text, None -> empty
    headers: dict[str, str] = field(default_factory=dict)



class Webhooks:
    def __init__(self, store: Store, flows: Any, runner: Runner, sync_timeout: float):
        self.store = store
        self.flows = flows
        self.runner = runner
        self.sync_timeout = sync_timeout

    async def handle(self, flow_id: str, mode: str, method: str, headers: dict[str, str], body: Any,
                     query: dict[str, Any], raw_body: str) -> WebhookAnswer:
        """`mode` is one of async, sync, draft, draft_sync, test."""
        webhook_id = new_id()
        answer = await self._handle(flow_id, mode, method, headers, body, query, raw_body)
        answer.headers = {**answer.headers, "x-webhook-id": webhook_id}
        return answer

    async def _handle(self, flow_id: str, mode: str, method: str, headers: dict[str, str], body: Any,
                      query: dict[str, Any], raw_body: str) -> WebhookAnswer:
        flow = self.flows.find(flow_id)
        if flow is None or flow["operationStatus"] == "DELETING":
            return WebhookAnswer(410, {})
        draft = mode in ("draft", "draft_sync", "test")
        version = self.flows.latest(flow) if draft else (self.flows.published(flow) or self.flows.latest(flow))
        output = engine.webhook_output(method, headers, body, query, raw_body)
        if mode == "test":
            self._save_sample(flow, output)
            return WebhookAnswer(200, {})
        enabled = flow["status"] == "ENABLED"
        if not enabled and mode != "draft_sync":
            if flow.get("_listening") or mode == "draft":
                self._save_sample(flow, output)
                return WebhookAnswer(404 if mode == "sync" else 200, {})
            return WebhookAnswer(404, {})
        sync = mode in ("sync", "draft_sync")
        if not engine.webhook_auth_passes(version["trigger"], headers):
            record_trigger(self.store, version["trigger"], success=False)
            return WebhookAnswer(204) if sync else WebhookAnswer(200, {})
        run = self.runner.create(
            flow, version, "TESTING" if draft else "PRODUCTION", output,
            parent_run_id=headers.get("ap-parent-run-id", ""),
            fail_parent_on_failure=headers.get("ap-fail-parent-on-failure") == "true",
        )
        record_trigger(self.store, version["trigger"], success=True)
        if not sync:
            self.runner.start(run)
            return WebhookAnswer(200, {})
        reply = self.runner.wait_for_reply(run["id"])
        self.runner.start(run)
        try:
            result = await asyncio.wait_for(asyncio.shield(reply), timeout=self.sync_timeout)
        except asyncio.TimeoutError:
            self.runner.waiters.pop(run["id"], None)
            return WebhookAnswer(204)
        return _sync_answer(result)

    def _save_sample(self, flow: dict[str, Any], output: dict[str, Any]) -> None:
        flow["_sampleData"] = output
        self.store.put("flow", flow)


_FRAMING_HEADERS = {"content-length", "transfer-encoding", "connection"}  # the server sets these


def _status(value: Any) -> int:
    """The reply status a flow asked for; anything that is not an HTTP status becomes 200."""
    try:
        status = int(value)
    except (TypeError, ValueError):
        return 200
    return status if 100 <= status <= 599 else 200


def _sync_answer(result: dict[str, Any]) -> WebhookAnswer:
    if result["kind"] == "reply":
        headers = {
            str(k).lower(): str(v) for k, v in (result.get("headers") or {}).items()
            if str(k).lower() not in _FRAMING_HEADERS
        }
        body = result.get("body")
        return WebhookAnswer(_status(result.get("status")), {} if body is None else body, headers)
    status = result["status"]
    if status in ("FAILED", "MEMORY_LIMIT_EXCEEDED"):
        return WebhookAnswer(*FAILED_REPLY)
    if status == "INTERNAL_ERROR":
        return WebhookAnswer(*INTERNAL_REPLY)
    if status == "TIMEOUT":
        return WebhookAnswer(*TIMEOUT_REPLY)
    return WebhookAnswer(204)
