"""Runs really execute: the asyncio side of Imbrace Local (no HTTP, no FastAPI).

Everything here runs on the server's event loop. A run's states and who moves it:

    QUEUED --(queue_delay; sync webhooks at once)--> RUNNING --> SUCCEEDED | FAILED | TIMEOUT
                                                       |         | INTERNAL_ERROR
                                                       v
    PAUSED --(delay: a loop timer; webhook: a request to its resume URL)--> RUNNING
    QUEUED | PAUSED --(bulk cancel, runs.py)--> CANCELED (no finishTime, as the engine)

A run whose reply reached a waiting sync caller stays RUNNING for `finish_delay` after it, as
the engine's does while it writes the run's logs, before it ends or pauses (so a resume request
sent the moment a Respond and Wait reply arrives can meet 409 "not paused", as on the engine). A waiting sync caller gets the first reply;
a run that pauses without replying leaves it waiting until its timeout (204) or until the
resumed run replies, as the engine's `requestIdToReply` does. Schedule triggers of ENABLED
flows fire from a one-second tick.

Restart with `--db` (documented in docs/imbrace-local.md): runs found QUEUED or RUNNING are
re-queued and executed again from their last stored steps (at-least-once); PAUSED runs get
their resume timer back (due ones resume at once); flows left DELETING finish deleting.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from .. import engine
from ..clock import engine_now
from ..store import Store
from .common import new_id
from .runs import TERMINAL, new_run, run_clock, touch

logger = logging.getLogger("prefect_imbrace.local")
TICK_S = 1.0
QUEUE_DELAY_S = 0.1
"""Default time an async run stays QUEUED before it runs (the engine's queue, LocalConfig)."""
FINISH_DELAY_S = 0.1
"""Default time a run stays RUNNING after its reply reached a sync caller (LocalConfig)."""
DEFAULT_PUBLIC_URL = "http://127.0.0.1/activepieces/"


class Runner:
    def __init__(self, store: Store, connections: Any, finish_delete: Callable[[str], None], *,
                 run_timeout: float, allow_http_hosts: frozenset[str],
                 queue_delay: float = QUEUE_DELAY_S, finish_delay: float = FINISH_DELAY_S):
        self.store = store
        self.finish_delete = finish_delete
        self.connections = connections
        self.run_timeout = run_timeout
        self.allow_http_hosts = allow_http_hosts
        self.queue_delay = queue_delay
        self.finish_delay = finish_delay
        self.public_url: str | None = None
        """The engine's PUBLIC_URL (`{gateway}/activepieces/`): resume URLs are built on it."""
        self.loop: asyncio.AbstractEventLoop | None = None
        self.waiters: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self.timers: dict[str, asyncio.TimerHandle] = {}
        self.tasks: set[asyncio.Task[Any]] = set()
        self.next_fire: dict[str, tuple[str, str, datetime]] = {}
        self.runs_per_flow: dict[str, int] = {}
        self._ticker: asyncio.Task[Any] | None = None

    # -- lifecycle ---------------------------------------------------------------------------------
    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        """Called once the server loop runs: recover stored runs, start the schedule tick."""
        self.loop = loop
        for flow in self.store.all("flow"):
            if flow["operationStatus"] == "DELETING":
                loop.call_soon(self.finish_delete, flow["id"])
        for run in self.store.all("run"):
            if run["status"] in ("QUEUED", "RUNNING"):
                touch(run, status="QUEUED")
                self.store.put("run", run)
                loop.call_soon(self._start_stored, run["id"])
            elif run["status"] == "PAUSED" and run.get("_resumeAtMs"):
                self._arm_resume(run)
        self._ticker = loop.create_task(self._tick_forever())

    def _start_stored(self, run_id: str) -> None:
        run = self.store.get("run", run_id)
        if run is not None:
            self.start(run, run["_steps"])

    async def close(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
        for timer in self.timers.values():
            timer.cancel()
        self.timers.clear()
        for task in list(self.tasks):
            task.cancel()
        if self.tasks:
            await asyncio.gather(*self.tasks, return_exceptions=True)

    def reset(self) -> None:
        for timer in self.timers.values():
            timer.cancel()
        self.timers.clear()
        self.next_fire.clear()
        self.runs_per_flow.clear()

    # -- creating and executing runs --------------------------------------------------------------------
    def create(self, flow: dict[str, Any], version: dict[str, Any], environment: str,
               trigger_output: dict[str, Any], *, parent_run_id: str = "",
               fail_parent_on_failure: bool = False) -> dict[str, Any]:
        run = self.store.put("run", new_run(flow, version, environment, trigger_output, parent_run_id, fail_parent_on_failure))
        self.runs_per_flow[flow["id"]] = self.runs_per_flow.get(flow["id"], 0) + 1
        return run

    def start(self, run: dict[str, Any], previous_steps: dict[str, Any] | None = None, *,
              queued: bool = True) -> None:
        """Execute a QUEUED run: after `queue_delay` (`queued=False`: at once, sync webhooks)."""
        self._spawn(self._execute(run["id"], previous_steps or {},
                                  queued_for=self.queue_delay if queued else 0.0))

    def _spawn(self, work: Any) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def wait_for_reply(self, run_id: str) -> asyncio.Future[dict[str, Any]]:
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.waiters[run_id] = fut
        return fut

    def _resolve(self, run_id: str, answer: dict[str, Any]) -> bool:
        """Hand `answer` to the caller waiting on the run, if any; True when one took it."""
        fut = self.waiters.pop(run_id, None)
        if fut is not None and not fut.done():
            fut.set_result(answer)
            return True
        return False

    async def _execute(self, run_id: str, previous_steps: dict[str, Any], *, resuming: bool = False,
                       resume_payload: dict[str, Any] | None = None, queued_for: float = 0.0) -> None:
        if queued_for > 0:
            await asyncio.sleep(queued_for)
        run = self.store.get("run", run_id)
        if run is None or run["status"] != ("PAUSED" if resuming else "QUEUED"):
            return
        version = self.store.get("version", run["flowVersionId"])
        changes: dict[str, Any] = {"status": "RUNNING"}
        if "startTime" not in run:
            changes["startTime"] = run_clock(run)
        self.store.put("run", touch(run, **changes))
        replied = False

        async def on_response(reply: dict[str, Any]) -> None:
            nonlocal replied
            replied = self._resolve(run_id, {"kind": "reply", **reply}) or replied

        if version is None:
            outcome = engine.ExecutionOutcome("INTERNAL_ERROR", previous_steps)
        else:
            ctx = engine.RunContext(
                run_id=run_id, flow_id=run["flowId"], flow_version_id=version["id"], project_id=run["projectId"],
                trigger=version["trigger"], trigger_output=run["_triggerOutput"], previous_steps=previous_steps,
                connections=self.connections.values_for(run["projectId"]),
                http_allow_hosts=self.allow_http_hosts, deadline=time.monotonic() + self.run_timeout,
                on_response=on_response, public_url=self.public_url or DEFAULT_PUBLIC_URL,
                pause_request_id=new_id(), resume_payload=resume_payload,
            )
            try:
                outcome = await asyncio.wait_for(engine.execute_run(ctx), timeout=self.run_timeout + 1)
            except asyncio.TimeoutError:
                outcome = engine.ExecutionOutcome("TIMEOUT", previous_steps)
            except Exception:  # the engine promises never to raise; stay safe anyway
                logger.exception("run %s: engine raised", run_id)
                outcome = engine.ExecutionOutcome("INTERNAL_ERROR", previous_steps)
        if replied and self.finish_delay > 0 and (outcome.status in TERMINAL or outcome.status == "PAUSED"):
            await asyncio.sleep(self.finish_delay)  # the caller has its answer; the run ends (or pauses) after
        self._finish(run_id, outcome)

    def _finish(self, run_id: str, outcome: Any) -> None:
        run = self.store.get("run", run_id)
        if run is None:
            self._resolve(run_id, {"kind": "end", "status": outcome.status})
            return
        if run["status"] != "RUNNING":  # forced by the control plane meanwhile: keep that
            self._resolve(run_id, {"kind": "end", "status": run["status"]})
            return
        changes: dict[str, Any] = {
            # a run retried from its failed step keeps naming the step that failed first
            "status": outcome.status, "_steps": outcome.steps,
            "failedStep": outcome.failed_step or run.get("failedStep") or {},
            "logsFileId": run.get("logsFileId") or new_id(),
        }
        if outcome.status in TERMINAL:
            changes["finishTime"] = run_clock(run)
        pause = getattr(outcome, "pause", None)
        if outcome.status == "PAUSED" and pause is not None:
            changes["_pauseMetadata"] = _stored_pause(pause)
            resume_at = pause.get("resumeAt")
            if resume_at is not None:
                if resume_at.tzinfo is None:
                    resume_at = resume_at.replace(tzinfo=timezone.utc)
                changes["_resumeAtMs"] = int(resume_at.timestamp() * 1000)
        self.store.put("run", touch(run, **changes))
        if outcome.status == "PAUSED":
            if run.get("_resumeAtMs"):
                self._arm_resume(run)
            return  # a waiting sync caller keeps waiting: for the resumed run's reply, or 204
        self._resolve(run_id, {"kind": "end", "status": outcome.status})

    def _arm_resume(self, run: dict[str, Any]) -> None:
        assert self.loop is not None
        delay = max(0.0, run["_resumeAtMs"] / 1000 - time.time())
        run_id = run["id"]
        self.timers[run_id] = self.loop.call_later(delay, self._resume, run_id)

    def resume_now(self, run_id: str) -> None:
        """Resume a PAUSED run at once (control plane; avoids waiting in tests).

        A run paused on a webhook resumes as if its resume URL got an empty request.
        """
        timer = self.timers.pop(run_id, None)
        if timer is not None:
            timer.cancel()
        self._resume(run_id, {"body": {}, "headers": {}, "queryParams": {}})

    def resume_request(self, run_id: str, request_id: str, payload: dict[str, Any]) -> str:
        """A request reached `/flow-runs/{id}/requests/{requestId}`: resume the run if it waits.

        As the engine decides: `unknown` (no such run), `mismatch` (the run paused for another
        request id, or on a delay), `not_paused`, or `resumed` (the run runs again with
        `payload` as the step's output).
        """
        run = self.store.get("run", run_id)
        if run is None:
            return "unknown"
        pause = run.get("_pauseMetadata")
        if pause is not None and not (pause.get("type") == "WEBHOOK" and pause.get("requestId") == request_id):
            return "mismatch"
        if run["status"] != "PAUSED":
            return "not_paused"
        self._resume(run_id, payload)
        return "resumed"

    def _resume(self, run_id: str, payload: dict[str, Any] | None = None) -> None:
        self.timers.pop(run_id, None)
        run = self.store.get("run", run_id)
        if run is None or run["status"] != "PAUSED":
            return
        self._spawn(self._execute(run_id, run["_steps"], resuming=True, resume_payload=payload))

    def cancelled(self, runs: list[dict[str, Any]]) -> None:
        for run in runs:
            timer = self.timers.pop(run["id"], None)
            if timer is not None:
                timer.cancel()
            self._resolve(run["id"], {"kind": "end", "status": "CANCELED"})

    def retried(self, run: dict[str, Any], previous_steps: dict[str, Any]) -> None:
        self.runs_per_flow[run["flowId"]] = self.runs_per_flow.get(run["flowId"], 0) + 1
        self.start(run, previous_steps)

    # -- schedules -------------------------------------------------------------------------------------
    async def _tick_forever(self) -> None:
        while True:
            try:
                self.fire_due(engine_now())
            except Exception:  # a bad schedule must not stop the others
                logger.exception("schedule tick failed")
            await asyncio.sleep(TICK_S)

    def fire_due(self, now: datetime) -> list[dict[str, Any]]:
        """Start a PRODUCTION run for every ENABLED schedule flow whose next fire time passed."""
        from zoneinfo import ZoneInfo

        from croniter import croniter

        fired = []
        live = set()
        for flow in self.store.all("flow"):
            if flow["status"] != "ENABLED" or flow["operationStatus"] != "NONE" or not flow.get("publishedVersionId"):
                continue
            version = self.store.get("version", flow["publishedVersionId"])
            schedule = engine.schedule_of(version["trigger"]) if version else None
            if version is None or not schedule:
                continue
            live.add(flow["id"])
            cron, tz = schedule["cronExpression"], schedule.get("timezone") or "UTC"
            known = self.next_fire.get(flow["id"])
            if known is None or known[:2] != (cron, tz):
                try:
                    base = now.astimezone(ZoneInfo(tz))
                    nxt = croniter(cron, base).get_next(datetime)
                except Exception:
                    logger.warning("flow %s: unusable schedule %r (%s)", flow["id"], cron, tz)
                    continue
                self.next_fire[flow["id"]] = (cron, tz, nxt)
                continue
            if now >= known[2]:
                run = self.create(flow, version, "PRODUCTION", engine.schedule_output(known[2]))
                self.start(run)
                record_trigger(self.store, version["trigger"], success=True)
                fired.append(run)
                self.next_fire[flow["id"]] = (cron, tz, croniter(cron, known[2]).get_next(datetime))
        for flow_id in set(self.next_fire) - live:
            del self.next_fire[flow_id]
        return fired


def _stored_pause(pause: dict[str, Any]) -> dict[str, Any]:
    """The engine's pauseMetadata of a run, JSON-ready (kept while the run is stored)."""
    if pause.get("type") == "WEBHOOK":
        return {"type": "WEBHOOK", "requestId": pause.get("requestId")}
    resume_at = pause.get("resumeAt")
    return {"type": "DELAY", "resumeDateTime": resume_at.isoformat() if resume_at else None}


def record_trigger(store: Store, trigger: dict[str, Any], success: bool) -> None:
    """Count a trigger execution for `GET /v1/trigger-runs/status` (platform-wide, per day)."""
    piece = (trigger.get("settings") or {}).get("pieceName")
    if not piece:
        return
    stats = store.get("meta", "triggerStats") or {"id": "triggerStats", "pieces": {}}
    day = engine_now().strftime("%Y-%m-%d")
    entry = stats["pieces"].setdefault(piece, {"dailyStats": {}, "totalRuns": 0})
    daily = entry["dailyStats"].setdefault(day, {"success": 0, "failure": 0})
    daily["success" if success else "failure"] += 1
    entry["totalRuns"] += 1
    store.put("meta", stats)

