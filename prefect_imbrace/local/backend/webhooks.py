"""Webhook calls and their outcome table (imbrace-api.md §6.1), and the resume requests that
wake a run paused on a webhook (§7.3, `/flow-runs/{id}/requests/{requestId}[/sync]`).

The flow is looked up without tenancy (webhooks are unauthenticated on the engine side). Every
answer carries `x-webhook-id`, a fresh id that is *not* the run id (as on the real engine).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from .. import engine
from ..errors import EngineError
from ..store import Store
from .common import new_id
from .runner import Runner, record_trigger

FAILED_REPLY = (500, {"message": "The flow has failed and there is no response returned"})
INTERNAL_REPLY = (500, {"message": "An internal error has occurred"})
TIMEOUT_REPLY = (504, {"message": "The request took too long to reply"})
RECORDED = {"message": "Your response has been recorded. You can close this page now."}


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
        self.runner.start(run, queued=False)
        return await self._answer_when_replied(run["id"], reply)

    async def resume(self, run_id: str, request_id: str, sync: bool, payload: dict[str, Any]) -> WebhookAnswer:
        """A request to a run's resume URL; `payload` is its `{body, headers, queryParams}`.

        Answers as the engine: an unknown run is FLOW_RUN_NOT_FOUND; the sync route gives 404
        `{}` for another request id, 409 when the run is not PAUSED, else the resumed run's next
        reply (204 when none comes within the sync timeout). The plain route always says the
        response was recorded.
        """
        decision = self.runner.resume_request(run_id, request_id, payload)
        if decision == "unknown":
            raise EngineError("FLOW_RUN_NOT_FOUND", {"id": run_id})
        if not sync:
            return WebhookAnswer(200, dict(RECORDED))
        if decision == "mismatch":
            return WebhookAnswer(404, {})
        if decision == "not_paused":
            run = self.store.get("run", run_id) or {}
            return WebhookAnswer(409, {"message": "Flow run is not paused", "flowRunStatus": run.get("status")})
        return await self._answer_when_replied(run_id, self.runner.wait_for_reply(run_id))

    async def _answer_when_replied(self, run_id: str, reply: asyncio.Future[dict[str, Any]]) -> WebhookAnswer:
        try:
            result = await asyncio.wait_for(asyncio.shield(reply), timeout=self.sync_timeout)
        except asyncio.TimeoutError:
            if self.runner.waiters.get(run_id) is reply:
                del self.runner.waiters[run_id]
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
