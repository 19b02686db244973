"""The control plane of Imbrace Local: faults, counters, reset (architecture.md §1).

`ControlState` lives in the server; `LocalControl` is the small httpx client tests use
(`engine.control`). Faults match a regex against the request path and, optionally, another
against its query string (so a fault can hit one flow's run listings: `query="flowId=<id>"`):
a `status` fault answers before the request is processed, `latency_ms` delays it,
`lost_response` processes it and then drops the connection without an answer. Live faults are
listed with how often each fired; the counters say since when they count and whether the
engine's state was restored from a `--db` file at that start (counters are not stored).
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from .backend.common import new_id


@dataclass
class Fault:
    id: str
    pattern: re.Pattern[str]
    method: str | None
    status: int | None
    headers: dict[str, str]
    body: Any
    times: int
    latency_ms: int
    lost_response: bool
    query: re.Pattern[str] | None = None
    fired: int = 0

    def describe(self) -> dict[str, Any]:
        return {"id": self.id, "path": self.pattern.pattern, "query": self.query.pattern if self.query else None,
                "method": self.method, "status": self.status, "latency_ms": self.latency_ms,
                "lost_response": self.lost_response, "times_left": self.times, "fired": self.fired}


class ControlState:
    def __init__(self) -> None:
        self.faults: list[Fault] = []
        self.requests: Counter[str] = Counter()
        self.faults_fired = 0
        self.unhandled_errors = 0
        self.since = datetime.now(timezone.utc).isoformat()
        self._lock = threading.Lock()

    def add_fault(self, spec: dict[str, Any]) -> str:
        fault = Fault(
            id=new_id(), pattern=re.compile(spec["path"]), method=(spec.get("method") or None),
            status=spec.get("status"), headers=dict(spec.get("headers") or {}), body=spec.get("body"),
            times=int(spec.get("times", 1)), latency_ms=int(spec.get("latency_ms", 0)),
            lost_response=bool(spec.get("lost_response", False)),
            query=re.compile(spec["query"]) if spec.get("query") else None,
        )
        if fault.method:
            fault.method = fault.method.upper()
        with self._lock:
            self.faults.append(fault)
        return fault.id

    def take_fault(self, method: str, path: str, query: str = "") -> Fault | None:
        """The first live fault matching this request, consuming one of its `times`."""
        with self._lock:
            for fault in self.faults:
                if ((fault.method is None or fault.method == method) and fault.pattern.search(path)
                        and (fault.query is None or fault.query.search(query))):
                    fault.times -= 1
                    fault.fired += 1
                    if fault.times <= 0:
                        self.faults.remove(fault)
                    self.faults_fired += 1
                    return fault
        return None

    def clear_faults(self) -> None:
        with self._lock:
            self.faults.clear()

    def list_faults(self) -> list[dict[str, Any]]:
        with self._lock:
            return [fault.describe() for fault in self.faults]

    def reset(self) -> None:
        with self._lock:
            self.faults.clear()
            self.requests.clear()
            self.faults_fired = 0
            self.unhandled_errors = 0
            self.since = datetime.now(timezone.utc).isoformat()


class LocalControl:
    """Client of the control plane (`{url}/_local/...`), authenticated by `x-control-token`."""

    def __init__(self, url: str, token: str, timeout: float = 10.0):
        self.url = url.rstrip("/")
        self._token = token
        self._timeout = timeout

    def __repr__(self) -> str:
        return f"LocalControl(url={self.url!r})"

    def _call(self, method: str, path: str, json: Any = None) -> Any:
        import httpx  # lazily: importing httpx costs ~0.4 s of the server's start-up (its CLI)

        with httpx.Client(timeout=self._timeout) as client:
            response = client.request(method, f"{self.url}/_local{path}", json=json,
                                      headers={"x-control-token": self._token})
        response.raise_for_status()
        return response.json() if response.content else None

    def reset(self) -> None:
        """Drop all state except organisations and keys; clear faults and counters."""
        self._call("POST", "/reset")

    def add_fault(self, path: str, method: str | None = None, status: int | None = None,
                  headers: dict[str, str] | None = None, body: Any = None, times: int = 1,
                  latency_ms: int = 0, lost_response: bool = False, query: str | None = None) -> str:
        """Inject a fault for the next `times` requests whose path matches the regex `path`
        (and whose query string matches the regex `query`, if given)."""
        spec = {"path": path, "method": method, "status": status, "headers": headers or {}, "body": body,
                "times": times, "latency_ms": latency_ms, "lost_response": lost_response, "query": query}
        return self._call("POST", "/faults", spec)["id"]

    def clear_faults(self) -> None:
        self._call("DELETE", "/faults")

    def faults(self) -> list[dict[str, Any]]:
        """Live faults: `{id, path, query, method, status, latency_ms, lost_response, times_left, fired}`."""
        return self._call("GET", "/faults")["data"]

    def counters(self) -> dict[str, Any]:
        """`{"requests": {"METHOD path": n}, "runs_per_flow": {flow_id: n}, "faults_fired": n,
        "unhandled_errors": n, "since": ISO time, "state_restored": bool}`: the counters count
        since `since` (this start or the last reset); `state_restored` is True when this start
        loaded stored state from a `--db` file, so runs stored before it are not counted."""
        return self._call("GET", "/counters")

    def set_run_status(self, run_id: str, status: str) -> dict[str, Any]:
        """Force any status string onto a run (tests of rare or unknown statuses)."""
        return self._call("POST", f"/runs/{run_id}/status", {"status": status})

    def resume_run(self, run_id: str) -> dict[str, Any]:
        """Resume a PAUSED run now instead of at its `resume_at` (beyond architecture.md §1)."""
        return self._call("POST", f"/runs/{run_id}/resume")
