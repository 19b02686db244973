"""What a finished Imbrace run means for Prefect: a typed result, or a typed error.

Whether a run has ended, and how, comes from the model alone (`FlowRun.category` and
`FlowRun.is_terminal` in `prefect_imbrace.client.models.runs`): a status this package does not
know counts as *still running* while the run has no `finishTime`, and as a failure
(`ImbraceRunFailed`) once the engine has stamped one. So a future non-terminal status never
fails a wait early, and a future terminal one never hangs it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypeVar, cast

from pydantic import BaseModel, Field

from prefect_imbrace.client.models.runs import RunCategory, error_text
from prefect_imbrace.exceptions import ImbraceRunCancelled, ImbraceRunFailed

__all__ = [
    "ImbraceRunResult",
    "StepSummary",
    "raise_for_outcome",
    "result_from_run",
]

RunT = TypeVar("RunT")


class StepSummary(BaseModel):
    """One step of a finished run, as shown in the summary artifact."""

    name: str
    status: str | None = None
    duration_ms: float | None = None
    error: str | None = None
    output: Any = None


class ImbraceRunResult(BaseModel):
    """A SUCCEEDED Imbrace run: ids, timing, step outputs and what to feed the next flow."""

    run_id: str
    flow_id: str
    project_id: str | None = None
    status: str
    duration_seconds: float | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    steps: dict[str, StepSummary] = Field(default_factory=dict)
    reply: dict[str, Any] | None = Field(
        default=None, description="The Return Response step's {status, headers, body}, if any."
    )
    idempotency_key: str | None = None
    webhook_id: str | None = None

    @property
    def payload(self) -> Any:
        """What a following flow should receive: the reply body, else the last step's output."""
        if self.reply is not None:
            return self.reply.get("body")
        for step in reversed(list(self.steps.values())):
            if step.name != "trigger":
                return step.output
        return None

    @property
    def outputs(self) -> dict[str, Any]:
        """Step name -> output."""
        return {name: step.output for name, step in self.steps.items()}


def step_summaries(run: Any) -> dict[str, StepSummary]:
    """Step name -> summary for a run read by id (lists carry no steps)."""
    summaries: dict[str, StepSummary] = {}
    for name, step in (getattr(run, "steps", None) or {}).items():
        data = step.model_dump(by_alias=True) if hasattr(step, "model_dump") else dict(step)
        summaries[name] = StepSummary(
            name=name,
            status=data.get("status"),
            duration_ms=data.get("duration"),
            error=error_text(data.get("errorMessage")),
            output=data.get("output"),
        )
    return summaries


def _find_reply(run: Any) -> dict[str, Any] | None:
    """The output of a Return Response step: it is the step whose input has `respond`."""
    for step in (getattr(run, "steps", None) or {}).values():
        data = step.model_dump(by_alias=True) if hasattr(step, "model_dump") else dict(step)
        inputs = data.get("input") or {}
        output = data.get("output")
        if isinstance(inputs, dict) and "respond" in inputs and "responseType" in inputs:
            if isinstance(output, dict) and "body" in output:
                return output
    return None


SENSITIVE_HEADERS = frozenset(
    {"x-access-token", "x-api-key", "authorization", "proxy-authorization", "cookie"}
)
REDACTED = "**REDACTED**"


def redact_run(run: RunT) -> RunT:
    """A copy of the run whose recorded trigger headers hide credentials.

    The gateway forwards the caller's access token to the engine as `x-access-token`, and the
    webhook trigger records every request header, so the run read back holds the token. It
    must not reach results, errors, artifacts or persisted state.
    """
    steps = getattr(run, "steps", None) or {}
    trigger: Any = steps.get("trigger") if isinstance(steps, dict) else None
    output: Any = getattr(trigger, "output", None)
    headers = output.get("headers") if isinstance(output, dict) else None
    if not isinstance(headers, dict) or not SENSITIVE_HEADERS & {str(k).lower() for k in headers}:
        return run
    clean = {k: REDACTED if str(k).lower() in SENSITIVE_HEADERS else v for k, v in headers.items()}
    new_trigger = trigger.model_copy(update={"output": {**output, "headers": clean}})
    redacted: RunT = cast(Any, run).model_copy(update={"steps": {**steps, "trigger": new_trigger}})
    return redacted


def result_from_run(
    run: Any, *, key: str | None = None, webhook_id: str | None = None
) -> ImbraceRunResult:
    """Build the typed result of a finished run (any status; callers check the outcome)."""
    run = redact_run(run)
    duration = getattr(run, "duration", None)
    return ImbraceRunResult(
        run_id=run.id,
        flow_id=run.flow_id,
        project_id=getattr(run, "project_id", None),
        status=run.status,
        duration_seconds=duration.total_seconds() if duration is not None else None,
        started_at=getattr(run, "start_time", None),
        finished_at=getattr(run, "finish_time", None),
        steps=step_summaries(run),
        reply=_find_reply(run),
        idempotency_key=key,
        webhook_id=webhook_id,
    )


def failed_step(run: Any, steps: dict[str, StepSummary]) -> tuple[str | None, str | None]:
    """(step name, error message) of the step that failed, from the run or from its steps."""
    name = getattr(run, "failed_step_name", None)
    message = getattr(run, "error_message", None)
    if name is None:
        for step in steps.values():
            if (step.status or "").upper() == "FAILED":
                name = step.name
                break
    if name is not None and message is None and name in steps:
        message = steps[name].error
    return name, message


def raise_for_outcome(run: Any, result: ImbraceRunResult) -> ImbraceRunResult:
    """Return the result of a SUCCEEDED run; raise the matching error for any other ending."""
    category = run.category
    if category is RunCategory.SUCCEEDED:
        return result
    run = redact_run(run)
    fields = {"run_id": run.id, "flow_id": run.flow_id, "status": run.status, "run": run}
    if category is RunCategory.CANCELLED:
        raise ImbraceRunCancelled(
            f"Imbrace run {run.id} of flow {run.flow_id} was cancelled.", **fields
        )
    step, message = failed_step(run, result.steps)
    where = f" at step {step!r}" if step else ""
    why = f": {message}" if message else ""
    known = "" if category is RunCategory.FAILED else " (status unknown to prefect-imbrace)"
    raise ImbraceRunFailed(
        f"Imbrace run {run.id} of flow {run.flow_id} ended {run.status}{known}{where}{why}",
        failed_step=step,
        error_message=message,
        **fields,
    )
