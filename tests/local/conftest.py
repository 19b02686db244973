"""Helpers for Imbrace Local tests: every test talks real HTTP to a server on 127.0.0.1."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from prefect_imbrace.local import ImbraceLocal

WEBHOOK = "@activepieces/piece-webhook"


def webhook_trigger(auth: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "name": "trigger", "type": "PIECE_TRIGGER", "valid": True, "displayName": "Catch Webhook",
        "settings": {"pieceName": WEBHOOK, "pieceVersion": "~0.1.25", "triggerName": "catch_webhook",
                     "input": auth or {"authType": "none"}, "propertySettings": {}},
    }


def return_response(name: str = "step_1", status: int = 200, body: Any = None, headers: dict[str, str] | None = None,
                    response_type: str = "json", respond: str = "stop") -> dict[str, Any]:
    return {
        "name": name, "type": "PIECE", "valid": True, "displayName": "Return Response",
        "settings": {"pieceName": WEBHOOK, "pieceVersion": "~0.1.25", "actionName": "return_response",
                     "input": {"responseType": response_type, "respond": respond,
                               "fields": {"status": status, "headers": headers or {}, "body": body if body is not None else {}}},
                     "propertySettings": {}},
    }


def piece_action(name: str, piece: str, action: str, inputs: dict[str, Any], version: str = "~0.3.21") -> dict[str, Any]:
    return {
        "name": name, "type": "PIECE", "valid": True, "displayName": action,
        "settings": {"pieceName": piece, "pieceVersion": version, "actionName": action, "input": inputs,
                     "propertySettings": {}},
    }


class Api:
    """An httpx client on `{url}/activepieces/v1` plus a few flow-building shortcuts."""

    def __init__(self, engine: ImbraceLocal, headers: dict[str, str] | None = None):
        self.engine = engine
        self.http = httpx.Client(base_url=engine.engine_url + "/v1", timeout=40,
                                 headers=headers if headers is not None else {"x-api-key": engine.api_key})

    def __getattr__(self, name: str) -> Any:
        return getattr(self.http, name)

    def op(self, flow_id: str, op_type: str, request: dict[str, Any]) -> httpx.Response:
        return self.http.post(f"/flows/{flow_id}", json={"type": op_type, "request": request})

    def flow(self, name: str = "flow", actions: list[dict[str, Any]] = (), publish: bool = True,
             trigger: dict[str, Any] | None = None) -> str:
        """A webhook flow with `actions` chained after the trigger; published and enabled by default."""
        flow_id = self.http.post("/flows", json={"displayName": name}).json()["id"]
        assert self.op(flow_id, "UPDATE_TRIGGER", trigger or webhook_trigger()).status_code == 200
        parent = "trigger"
        for action in actions:
            r = self.op(flow_id, "ADD_ACTION", {"parentStep": parent, "action": action})
            assert r.status_code == 200, r.text
            parent = action["name"]
        if publish:
            assert self.op(flow_id, "LOCK_AND_PUBLISH", {}).status_code == 200
        return flow_id

    def wait_run(self, run_id: str, statuses: tuple[str, ...] = ("SUCCEEDED", "FAILED", "TIMEOUT", "INTERNAL_ERROR",
                                                                  "CANCELED", "PAUSED"), limit_s: float = 10.0) -> dict[str, Any]:
        deadline = time.monotonic() + limit_s
        while True:
            run = self.http.get(f"/flow-runs/{run_id}").json()
            if run.get("status") in statuses or time.monotonic() > deadline:
                return run
            time.sleep(0.02)

    def runs_of(self, flow_id: str, count: int = 1, limit_s: float = 10.0) -> list[dict[str, Any]]:
        """The flow's production runs, once at least `count` exist."""
        deadline = time.monotonic() + limit_s
        while True:
            data = self.http.get("/flow-runs", params={"flowId": flow_id, "limit": 100}).json()["data"]
            if len(data) >= count or time.monotonic() > deadline:
                return data
            time.sleep(0.02)


@pytest.fixture
def engine(imbrace_local: ImbraceLocal) -> ImbraceLocal:
    return imbrace_local


@pytest.fixture
def api(engine: ImbraceLocal) -> Iterator[Api]:
    client = Api(engine)
    yield client
    client.http.close()
