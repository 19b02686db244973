"""What a webhook call gives back: a receipt (async) or the flow's reply (sync)."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict


class SyncOutcome(str, enum.Enum):
    """How a synchronous webhook call ended (imbrace-api.md §6.1)."""

    REPLIED = "REPLIED"
    """A Return Response step answered (any status it chose)."""
    NO_REPLY = "NO_REPLY"
    """204: the run ended without answering, or nothing answered within the engine's 30 s hold."""
    RUN_FAILED = "RUN_FAILED"
    """500 from the engine: the run FAILED (or hit an internal error) before answering."""
    RUN_TIMED_OUT = "RUN_TIMED_OUT"
    """504 from the engine: the run exceeded the flow timeout."""


class TriggerReceipt(BaseModel):
    """The engine accepted an async webhook call; the run appears a moment later."""

    model_config = ConfigDict(frozen=True)

    flow_id: str
    webhook_id: str | None = None
    """`x-webhook-id` of the answer: the engine's id for this webhook request."""
    status_code: int
    sent_at: datetime
    """UTC time taken just before the request was first sent (a lower bound for the run's `created`)."""


class SyncReply(BaseModel):
    """The answer of a synchronous webhook call."""

    model_config = ConfigDict(frozen=True)

    outcome: SyncOutcome
    status_code: int
    headers: dict[str, str]
    """Response headers, lower-cased."""
    body: Any = None
    """Parsed JSON, or the raw text when the reply is not JSON; None when empty."""
    webhook_id: str | None = None
    flow_id: str | None = None
    sent_at: datetime | None = None

    @property
    def ok(self) -> bool:
        """The flow replied with a 2xx status."""
        return self.outcome is SyncOutcome.REPLIED and 200 <= self.status_code < 300

    @property
    def resume_url(self) -> str | None:
        """The `x-activepieces-resume-webhook-url` a Respond and Wait for Next Webhook step sent:
        a request to it resumes the paused run."""
        return self.headers.get("x-activepieces-resume-webhook-url")
