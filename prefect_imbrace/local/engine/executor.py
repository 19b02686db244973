"""Runs a flow version's step tree for one run attempt and reports the outcome.

Steps execute one after another along `nextAction`; loops and routers run their sub-chains.
Earlier attempts (`RunContext.previous_steps`) are honoured: a step that already SUCCEEDED is
not run again (its result is kept), a PAUSED step is re-entered as resumed, a FAILED step is
retried. Every unexpected exception becomes INTERNAL_ERROR; nothing propagates to the server.
"""

from __future__ import annotations

import asyncio
import copy
import json
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from . import pieces
from .conditions import evaluate_groups
from .errors import PauseRun, StepFailed, StopRun, Unsupported, format_error
from .model import ExecutionOutcome, RunContext
from .pieces.base import StepCall
from .pieces.webhook import NAME as WEBHOOK_PIECE
from .templates import Scope, resolve

logger = logging.getLogger(__name__)

RETRY_ATTEMPTS = 4
RETRY_BASE_DELAY = 0.05
SUPPORTED_TRIGGERS = {
    ("@activepieces/piece-webhook", "catch_webhook"),
    *(("@activepieces/piece-schedule", t.name) for t in pieces.PIECES[
        "@activepieces/piece-schedule"].triggers),
}


class _Halt(Exception):
    """Unwinds the step tree once the run's fate is known."""

    def __init__(self, status: str, pause: dict | None = None):
        super().__init__(status)
        self.status = status
        self.pause = pause


@dataclass
class _Frame:
    """Where results go (top level or one loop iteration) and what earlier attempts recorded."""

    results: dict[str, dict]
    previous: dict[str, dict]
    outputs: dict[str, Any] = field(default_factory=dict)


def _ms(start: float) -> float:
    return (time.monotonic() - start) * 1000


_NOT_A_LIST = json.dumps({"message": "The items you have selected must be a list."},
                         separators=(",", ":"))
"""The loop's own failure: the engine stores this compact JSON text as is (not re-printed)."""


def _secret_texts(connections: Any) -> list[str]:
    """Every string inside the connection values (longest first), to keep them out of errors."""
    found: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, str) and len(value) >= 4:
            found.append(value)
        elif isinstance(value, dict):
            for key, item in value.items():
                if key != "type":
                    walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(list(connections.values()))
    return sorted(set(found), key=len, reverse=True)


def _flag(settings: dict, option: str) -> bool:
    value = ((settings.get("errorHandlingOptions") or {}).get(option) or {}).get("value")
    return value is True


class _Execution:
    def __init__(self, ctx: RunContext):
        self.ctx = ctx
        self.steps: dict[str, dict] = {}
        self.failed_step: dict | None = None
        self.response: dict | None = None
        self.secrets = _secret_texts(ctx.connections or {})
        trigger_settings = ctx.trigger.get("settings") or {}
        self.webhook_triggered = trigger_settings.get("pieceName") == WEBHOOK_PIECE

    # -- entry ------------------------------------------------------------------------------
    async def run(self) -> ExecutionOutcome:
        trigger = self.ctx.trigger
        frame = _Frame(self.steps, self.ctx.previous_steps or {})
        status, pause = "SUCCEEDED", None
        try:
            self._run_trigger(trigger, frame)
            await self._chain(trigger.get("nextAction"), frame)
        except _Halt as halt:
            status, pause = halt.status, halt.pause
        resume_at = None
        if pause is not None and pause["type"] == "DELAY":
            resume_at = pause["resumeAt"]
        return ExecutionOutcome(status, self.steps, self.failed_step, resume_at, self.response,
                                pause=pause)

    def _run_trigger(self, trigger: dict, frame: _Frame) -> None:
        settings = trigger.get("settings") or {}
        key = (settings.get("pieceName"), settings.get("triggerName"))
        result: dict[str, Any] = {"type": trigger.get("type", "EMPTY"), "status": "SUCCEEDED",
                                  "input": {}}
        if trigger.get("type") != "PIECE_TRIGGER" or key not in SUPPORTED_TRIGGERS:
            what = ("an EMPTY trigger" if trigger.get("type") != "PIECE_TRIGGER"
                    else f"the trigger '{key[1]}' of piece '{key[0]}'")
            result.update(status="FAILED", errorMessage=format_error(Unsupported(what).message))
            frame.results["trigger"] = result
            self._fail(trigger)
        result["output"] = self.ctx.trigger_output
        frame.results["trigger"] = result
        frame.outputs["trigger"] = self.ctx.trigger_output

    # -- helpers ----------------------------------------------------------------------------
    def _fail(self, step: dict) -> None:
        self.failed_step = {"name": step.get("name"), "displayName": step.get("displayName")}
        raise _Halt("FAILED")

    def _scrub(self, message: str) -> str:
        """A secret never appears in an error message (e.g. an HTTP error naming a URL)."""
        for secret in self.secrets:
            message = message.replace(secret, "**REDACTED**")
        return message

    def _pause_metadata(self, pause: PauseRun) -> dict:
        """What the server keeps about a pause: when a delay ends, or which request resumes it."""
        if pause.resume_at is not None:
            return {"type": "DELAY", "resumeAt": pause.resume_at}
        return {"type": "WEBHOOK", "requestId": self.ctx.pause_request_id,
                "response": pause.response or {}}

    def _remaining(self) -> float | None:
        if self.ctx.deadline is None:
            return None
        return self.ctx.deadline - time.monotonic()

    def _check_deadline(self) -> None:
        remaining = self._remaining()
        if remaining is not None and remaining <= 0:
            raise _Halt("TIMEOUT")

    def _scope(self, frame: _Frame, censor: bool) -> Scope:
        return Scope(frame.outputs, self.ctx.connections, censor=censor)

    async def _respond(self, reply: dict) -> None:
        if self.response is not None or not self.webhook_triggered:
            return
        self.response = reply
        if self.ctx.on_response is not None:
            try:
                await self.ctx.on_response(reply)
            except Exception:  # the waiting caller may be gone; the run itself goes on
                logger.exception("on_response callback failed for run %s", self.ctx.run_id)

    # -- walking ----------------------------------------------------------------------------
    async def _chain(self, step: dict | None, frame: _Frame) -> None:
        while step is not None:
            if not step.get("skip"):
                self._check_deadline()
                await self._step(step, frame)
            step = step.get("nextAction")

    async def _step(self, step: dict, frame: _Frame) -> None:
        kind = step.get("type")
        if kind == "PIECE":
            await self._piece(step, frame)
        elif kind == "LOOP_ON_ITEMS":
            await self._loop(step, frame)
        elif kind in ("ROUTER", "MULTIPLE_CHOICE"):
            await self._router(step, frame)
        else:
            what = "CODE steps" if kind == "CODE" else f"steps of type {kind!r}"
            frame.results[step["name"]] = {
                "type": kind, "status": "FAILED", "input": copy.deepcopy(
                    (step.get("settings") or {}).get("input") or {}),
                "duration": 0.0,
                "errorMessage": format_error(
                    Unsupported(f"{what} (step '{step.get('name')}')").message),
            }
            self._fail(step)

    async def _piece(self, step: dict, frame: _Frame) -> None:
        name, settings = step["name"], step.get("settings") or {}
        previous = frame.previous.get(name)
        if previous and (previous.get("status") == "SUCCEEDED" or (
                previous.get("status") == "FAILED" and _flag(settings, "continueOnFailure"))):
            frame.results[name] = copy.deepcopy(previous)
            frame.outputs[name] = copy.deepcopy(previous.get("output"))
            return
        resumed = bool(previous and previous.get("status") == "PAUSED")
        raw_input = settings.get("input") or {}
        result: dict[str, Any] = {"type": "PIECE", "status": "SUCCEEDED", "input": raw_input}
        start = time.monotonic()
        try:
            result["input"] = resolve(raw_input, self._scope(frame, censor=True))
            action = pieces.find_action(settings.get("pieceName"), settings.get("actionName"))
            if action is None:
                raise Unsupported(f"the action '{settings.get('actionName')}' of piece "
                                  f"'{settings.get('pieceName')}'")
            call = StepCall(name, resolve(raw_input, self._scope(frame, censor=False)), self.ctx,
                            resumed=resumed, respond=self._respond)
            output = await self._invoke(action.handler, call, _flag(settings, "retryOnFailure"))
        except StopRun as stop:
            result.update(output=stop.output, duration=_ms(start))
            frame.results[name] = result
            raise _Halt("SUCCEEDED") from None
        except PauseRun as pause:
            result.update(status="PAUSED", output=pause.output, duration=_ms(start))
            frame.results[name] = result
            raise _Halt("PAUSED", self._pause_metadata(pause)) from None
        except StepFailed as failure:
            result.update(status="FAILED", duration=_ms(start),
                          errorMessage=format_error(self._scrub(failure.message)))
            if failure.output is not None:
                result["output"] = failure.output
            frame.results[name] = result
            if isinstance(failure, Unsupported) or not _flag(settings, "continueOnFailure"):
                self._fail(step)
            frame.outputs[name] = failure.output
            return
        except _Halt as halt:
            if halt.status == "TIMEOUT":
                result.update(status="FAILED", duration=_ms(start),
                              errorMessage=format_error("the run exceeded its timeout"))
                frame.results[name] = result
            raise
        result.update(output=output, duration=_ms(start))
        frame.results[name] = result
        frame.outputs[name] = output

    async def _invoke(self, handler: Any, call: StepCall, retry: bool) -> Any:
        attempts = RETRY_ATTEMPTS if retry else 1
        for attempt in range(attempts):
            try:
                remaining = self._remaining()
                if remaining is None:
                    return await handler(call)
                if remaining <= 0:
                    raise _Halt("TIMEOUT")
                try:
                    return await asyncio.wait_for(handler(call), remaining)
                except asyncio.TimeoutError:
                    raise _Halt("TIMEOUT") from None
            except StepFailed as failure:
                if isinstance(failure, Unsupported) or attempt == attempts - 1:
                    raise
                await asyncio.sleep(RETRY_BASE_DELAY * 2**attempt)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _loop(self, step: dict, frame: _Frame) -> None:
        name, settings = step["name"], step.get("settings") or {}
        start = time.monotonic()
        raw = {"items": settings.get("items")}
        result: dict[str, Any] = {"type": "LOOP_ON_ITEMS", "status": "SUCCEEDED", "input": raw}
        frame.results[name] = result
        try:
            result["input"] = resolve(raw, self._scope(frame, censor=True))
            items = resolve(raw, self._scope(frame, censor=False))["items"]
        except StepFailed as failure:
            items, message = None, format_error(self._scrub(failure.message))
        else:
            message = _NOT_A_LIST
        if not isinstance(items, list):
            result.update(status="FAILED", duration=_ms(start), errorMessage=message)
            self._fail(step)
        previous = frame.previous.get(name) or {}
        earlier = ((previous.get("output") or {}).get("iterations") or []) if isinstance(
            previous.get("output"), dict) else []
        # no `item` until the first iteration (the engine's is `undefined`, absent in JSON)
        output: dict[str, Any] = {"index": 0, "iterations": []}
        result["output"] = output
        frame.outputs[name] = output
        body_outputs: dict[str, Any] = {}
        try:
            for index, item in enumerate(items):
                self._check_deadline()
                output["item"], output["index"] = item, index + 1
                iteration: dict[str, dict] = {}
                output["iterations"].append(iteration)
                child = _Frame(iteration, earlier[index] if index < len(earlier) else {},
                               dict(frame.outputs))
                await self._chain(step.get("firstLoopAction"), child)
                body_outputs = {k: v for k, v in child.outputs.items() if k in iteration}
        finally:
            result["duration"] = _ms(start)
        frame.outputs.update(body_outputs)

    async def _router(self, step: dict, frame: _Frame) -> None:
        name, settings = step["name"], step.get("settings") or {}
        start = time.monotonic()
        raw = {k: v for k, v in settings.items() if k != "inputUiInfo"}
        result: dict[str, Any] = {"type": step.get("type"), "status": "SUCCEEDED", "input": raw}
        frame.results[name] = result
        try:
            result["input"] = resolve(raw, self._scope(frame, censor=True))
            resolved = resolve(raw, self._scope(frame, censor=False))
            mode = resolved.get("executionType") or "EXECUTE_FIRST_MATCH"
            if mode not in ("EXECUTE_FIRST_MATCH", "EXECUTE_ALL_MATCH"):
                raise StepFailed(f"Router execution type {mode} is not supported")
            branches = resolved.get("branches") or []
            matched = [b.get("branchType") != "FALLBACK" and evaluate_groups(b.get("conditions"))
                       for b in branches]
            evaluations = [
                matched[i] if b.get("branchType") != "FALLBACK"
                else not any(m for j, m in enumerate(matched) if j != i)
                for i, b in enumerate(branches)
            ]
        except (StepFailed, ValueError) as failure:
            message = failure.message if isinstance(failure, StepFailed) else str(failure)
            result.update(status="FAILED", duration=_ms(start),
                          errorMessage=format_error(self._scrub(message)))
            self._fail(step)
        result["output"] = {"branches": [
            {"branchName": b.get("branchName"), "branchIndex": i + 1, "evaluation": evaluations[i]}
            for i, b in enumerate(branches)
        ]}
        result["duration"] = _ms(start)
        children = step.get("children") or []
        for index, taken in enumerate(evaluations):
            if not taken:
                continue
            await self._chain(children[index] if index < len(children) else None, frame)
            if mode == "EXECUTE_FIRST_MATCH":
                break


async def execute_run(ctx: RunContext) -> ExecutionOutcome:
    """Execute (or resume/retry) one run; never raises."""
    execution = _Execution(ctx)
    try:
        return await execution.run()
    except Exception:
        logger.exception("Imbrace Local engine: internal error in run %s", ctx.run_id)
        return ExecutionOutcome("INTERNAL_ERROR", execution.steps, execution.failed_step,
                                None, execution.response)
