"""Flow runs as stored rows: list/get, bulk selection, retry, cancel and archive (§7).

Execution itself lives in runner.py; this module only decides which rows change and how.
"""

from __future__ import annotations

import builtins  # the class has a `list` method, which annotations in it would name
from typing import Any

from ..errors import EngineError, RequestValidationError, entity_not_found
from ..store import Store
from .common import clock_ms, created_key, iso, new_id, now_ms, paginate, parse_iso_ms, public
from .tenancy import Principal

TERMINAL = {"SUCCEEDED", "FAILED", "TIMEOUT", "QUOTA_EXCEEDED", "MEMORY_LIMIT_EXCEEDED", "INTERNAL_ERROR", "CANCELED"}
STATUSES = sorted(TERMINAL | {"QUEUED", "RUNNING", "PAUSED"})


def new_run(
    flow: dict[str, Any], version: dict[str, Any], environment: str, trigger_output: dict[str, Any],
    parent_run_id: str = "", fail_parent_on_failure: bool = False,
) -> dict[str, Any]:
    ms = now_ms()
    return {
        "id": new_id(), "created": iso(ms), "updated": iso(ms), "projectId": flow["projectId"],
        "flowId": flow["id"], "failParentOnFailure": fail_parent_on_failure, "flowVersionId": version["id"],
        "status": "QUEUED", "environment": environment, "parentRunId": parent_run_id, "tags": [],
        "flowVersion": {"displayName": version["displayName"]}, "logsFileId": None, "failedStep": {},
        "stepNameToTest": "", "archivedAt": None,
        "_createdMs": ms, "_steps": {}, "_triggerOutput": trigger_output, "_resumeAtMs": None,
    }


def wire(run: dict[str, Any], with_steps: bool) -> dict[str, Any]:
    out = public(run)
    if with_steps:
        out["steps"] = run["_steps"]
    return out


def run_clock(run: dict[str, Any]) -> str:
    """Now, for a run's start/finish/updated times: the wall clock, never before its `created`."""
    return iso(clock_ms(run.get("_createdMs") or 0))


def touch(run: dict[str, Any], **changes: Any) -> dict[str, Any]:
    run.update(changes)
    run["updated"] = run_clock(run)
    return run


class Runs:
    def __init__(self, store: Store):
        self.store = store

    def owned(self, principal: Principal, run_id: str) -> dict[str, Any]:
        run = self.store.get("run", run_id)
        if run is None or run["projectId"] != principal.project_id:
            raise EngineError("FLOW_RUN_NOT_FOUND", {"id": run_id})
        return run

    def get(self, principal: Principal, run_id: str) -> dict[str, Any]:
        return wire(self.owned(principal, run_id), with_steps=True)

    def select(self, principal: Principal, f: dict[str, Any]) -> list[dict[str, Any]]:
        """Production runs of the caller's project matching the list/bulk filters."""
        rows = [r for r in self.store.all("run") if r["projectId"] == principal.project_id and r["environment"] == "PRODUCTION"]
        if f.get("flowId"):
            wanted = f["flowId"] if isinstance(f["flowId"], list) else [f["flowId"]]
            rows = [r for r in rows if r["flowId"] in wanted]
        if f.get("status"):
            rows = [r for r in rows if r["status"] in f["status"]]
        if f.get("flowRunIds"):
            rows = [r for r in rows if r["id"] in f["flowRunIds"]]
        if f.get("excludeFlowRunIds"):
            rows = [r for r in rows if r["id"] not in f["excludeFlowRunIds"]]
        if f.get("tags"):
            rows = [r for r in rows if set(f["tags"]) <= set(r.get("tags") or [])]
        if f.get("failedStepName"):
            rows = [r for r in rows if (r.get("failedStep") or {}).get("name") == f["failedStepName"]]
        if "archived" in f:
            rows = [r for r in rows if (r.get("archivedAt") is not None) == f["archived"]]
        for key, keep in (("createdAfter", lambda a, b: a >= b), ("createdBefore", lambda a, b: a <= b)):
            if f.get(key):
                bound = parse_iso_ms(f[key])
                if bound is None:  # the engine hands it to the database (500); say what to fix instead
                    raise RequestValidationError(f'{key} must match format "date-time"')
                rows = [r for r in rows if keep(r["_createdMs"], bound)]
        return rows

    def list(self, principal: Principal, q: dict[str, Any]) -> dict[str, Any]:
        return paginate(
            self.select(principal, q), created_key, descending=True, limit=q.get("limit"),
            cursor=q.get("cursor"), shape=lambda r: wire(r, with_steps=False),
        )

    def cancel(self, principal: Principal, f: dict[str, Any]) -> builtins.list[dict[str, Any]]:
        """QUEUED/PAUSED matches become CANCELED; the caller cancels their timers.

        The engine's cancel only changes the status: a cancelled run gets no `finishTime`.
        """
        wanted = set(f.get("status") or ["QUEUED", "PAUSED"]) & {"QUEUED", "PAUSED"}
        changed = []
        for run in self.select(principal, {k: v for k, v in f.items() if k != "status"}):
            if run["status"] in wanted:
                touch(run, status="CANCELED", _resumeAtMs=None)
                self.store.put("run", run)
                changed.append(run)
        return changed

    def archive(self, principal: Principal, f: dict[str, Any]) -> None:
        stamp = iso(now_ms())
        for run in self.select(principal, f):
            touch(run, archivedAt=stamp)
            self.store.put("run", run)

    def retry_target(self, principal: Principal, run: dict[str, Any], strategy: str) -> dict[str, Any]:
        """FROM_FAILED_STEP: the same row back to QUEUED (it keeps its `failedStep`, as on the
        engine, even once it succeeds). ON_LATEST_VERSION: a new QUEUED row."""
        if strategy == "FROM_FAILED_STEP":
            touch(run, status="QUEUED", _resumeAtMs=None)
            run.pop("finishTime", None)
            return self.store.put("run", run)
        flow = self.store.get("flow", run["flowId"])
        version = self.store.get("version", flow["publishedVersionId"]) if flow and flow.get("publishedVersionId") else None
        if flow is None or version is None:
            raise entity_not_found("FlowVersion")
        fresh = new_run(flow, version, "PRODUCTION", run["_triggerOutput"])
        return self.store.put("run", fresh)
