"""Flow runs (imbrace-api.md §7): raw status text plus a stable `RunCategory` on top.

The engine's status set changes between eras (STOPPED before 2025, QUEUED/CANCELED now,
LOG_SIZE_EXCEEDED later), so `FlowRun.status` stays a plain string and code that needs to
decide something reads `category` / `is_terminal`.
"""

from __future__ import annotations

import enum
from datetime import datetime, timedelta
from typing import Any, Optional

from pydantic import Field, field_validator

from ...step_errors import error_text
from ._base import ImbraceModel

__all__ = [
    "FailedStep", "FlowRun", "FlowRunVersion", "RunCategory", "STATUS_CATEGORY", "StepResult",
    "TERMINAL_CATEGORIES", "TERMINAL_STATUSES", "category_of", "error_text", "is_terminal_status",
]


class RunCategory(str, enum.Enum):
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    PAUSED = "PAUSED"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"
    UNKNOWN = "UNKNOWN"


STATUS_CATEGORY: dict[str, RunCategory] = {
    "QUEUED": RunCategory.QUEUED,
    "RUNNING": RunCategory.RUNNING,
    "PAUSED": RunCategory.PAUSED,
    "SUCCEEDED": RunCategory.SUCCEEDED,
    "STOPPED": RunCategory.SUCCEEDED,  # pre-2025 engines: ended by a Stop step
    "FAILED": RunCategory.FAILED,
    "TIMEOUT": RunCategory.FAILED,
    "INTERNAL_ERROR": RunCategory.FAILED,
    "QUOTA_EXCEEDED": RunCategory.FAILED,
    "MEMORY_LIMIT_EXCEEDED": RunCategory.FAILED,
    "LOG_SIZE_EXCEEDED": RunCategory.FAILED,  # 2026+ engines
    "CANCELED": RunCategory.CANCELLED,
    "CANCELLED": RunCategory.CANCELLED,
}

TERMINAL_CATEGORIES = frozenset({RunCategory.SUCCEEDED, RunCategory.FAILED, RunCategory.CANCELLED})

TERMINAL_STATUSES = frozenset(s for s, c in STATUS_CATEGORY.items() if c in TERMINAL_CATEGORIES)
"""Every known engine status after which a run never changes again (LOG_SIZE_EXCEEDED included)."""


def category_of(status: str | None) -> RunCategory:
    """The category of a raw status string; unknown values give `RunCategory.UNKNOWN`."""
    return STATUS_CATEGORY.get((status or "").upper(), RunCategory.UNKNOWN)


def is_terminal_status(status: str | None, *, finished: bool = False) -> bool:
    """Whether a run with this status has ended for good: the one rule of the package.

    A known status decides by its category; an unknown (newer) status counts as ended once
    the run has a finish time (`finished=True`), so a new terminal status never hangs a wait
    and a new non-terminal one never ends it early.
    """
    category = category_of(status)
    if category is RunCategory.UNKNOWN:
        return finished
    return category in TERMINAL_CATEGORIES


class StepResult(ImbraceModel):
    """One entry of `FlowRun.steps`: what a step received and produced."""

    type: Optional[str] = None
    status: Optional[str] = None
    """`SUCCEEDED`, `FAILED`, `PAUSED`, `RUNNING`, `STOPPED`."""
    input: Any = None
    output: Any = None
    duration: Optional[float] = None
    """Milliseconds."""
    error_message: Any = None

    @property
    def error_text(self) -> str | None:
        return error_text(self.error_message)


class FailedStep(ImbraceModel):
    name: str
    display_name: Optional[str] = None


class FlowRunVersion(ImbraceModel):
    display_name: Optional[str] = None


class FlowRun(ImbraceModel):
    id: str
    created: Optional[datetime] = None
    updated: Optional[datetime] = None
    project_id: Optional[str] = None
    flow_id: Optional[str] = None
    flow_version_id: Optional[str] = None
    flow_version: Optional[FlowRunVersion] = None
    status: str = "UNKNOWN"
    """Raw engine status (unknown values kept); see `category`."""
    environment: Optional[str] = None
    start_time: Optional[datetime] = None
    finish_time: Optional[datetime] = None
    logs_file_id: Optional[str] = None
    steps: dict[str, StepResult] = Field(default_factory=dict)
    """Step name -> result; only `get_run` fills it (lists leave it empty)."""
    failed_step: Optional[FailedStep] = None
    tags: list[str] = Field(default_factory=list)
    parent_run_id: Optional[str] = None
    fail_parent_on_failure: Optional[bool] = None
    step_name_to_test: Optional[str] = None
    archived_at: Optional[datetime] = None

    @field_validator("failed_step", mode="before")
    @classmethod
    def _empty_failed_step(cls, value: Any) -> Any:
        # The engine sends `failedStep: {}` for runs that did not fail.
        if isinstance(value, dict) and not value.get("name"):
            return None
        return value

    @field_validator("steps", mode="before")
    @classmethod
    def _null_steps(cls, value: Any) -> Any:
        return {} if value is None else value

    @field_validator("tags", mode="before")
    @classmethod
    def _null_tags(cls, value: Any) -> Any:
        return [] if value is None else value

    @property
    def category(self) -> RunCategory:
        return category_of(self.status)

    @property
    def is_terminal(self) -> bool:
        """Ended for good. An unknown status counts as ended once the run has a `finishTime`."""
        return is_terminal_status(self.status, finished=self.finish_time is not None)

    @property
    def duration(self) -> timedelta | None:
        if self.start_time is None or self.finish_time is None:
            return None
        return self.finish_time - self.start_time

    @property
    def trigger_headers(self) -> dict[str, str]:
        """Request headers the trigger step saw (lower-cased); {} when unknown."""
        trigger = self.steps.get("trigger")
        output = trigger.output if trigger else None
        headers = output.get("headers") if isinstance(output, dict) else None
        if not isinstance(headers, dict):
            return {}
        return {str(k).lower(): v if isinstance(v, str) else str(v) for k, v in headers.items()}

    @property
    def failed_step_name(self) -> str | None:
        """The step the run failed at; None for a run that succeeded.

        The engine keeps `failedStep` after a successful FROM_FAILED_STEP retry, so a SUCCEEDED
        run can still name the step that failed first: that is not a failure of this run.
        """
        if self.category is RunCategory.SUCCEEDED:
            return None
        if self.failed_step is not None:
            return self.failed_step.name
        for name, step in self.steps.items():
            if step.status == "FAILED":
                return name
        return None

    @property
    def error_message(self) -> str | None:
        """The failed step's `errorMessage` as text, or None."""
        name = self.failed_step_name
        step = self.steps.get(name) if name else None
        return step.error_text if step else None

    @property
    def resume_url(self) -> str | None:
        """Where to resume a run paused by Respond and Wait for Next Webhook; None otherwise.

        The paused step's output `nextWebhookUrl` (the same URL its reply's
        `x-activepieces-resume-webhook-url` header carried).
        """
        for step in self.steps.values():
            output = step.output
            if step.status == "PAUSED" and isinstance(output, dict):
                url = output.get("nextWebhookUrl")
                if isinstance(url, str) and url:
                    return url
        return None

    @property
    def resume_request_id(self) -> str | None:
        """The request id in `resume_url`, for `workflows.resume_run(run.id, request_id, payload)`."""
        url = self.resume_url
        if url is None or "/requests/" not in url:
            return None
        return url.split("/requests/", 1)[1].split("?", 1)[0].split("/", 1)[0] or None

    @property
    def step_outputs(self) -> dict[str, Any]:
        """Step name -> output."""
        return {name: step.output for name, step in self.steps.items()}
