"""Signals raised by step handlers and caught by the executor (never leave the engine)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

SUPPORTED_DOC = "docs/local-engine.md (also GET /v1/pieces)"


class StepFailed(Exception):
    """The step failed; `output` is kept when the piece produced one (e.g. an HTTP error body)."""

    def __init__(self, message: str, output: Any = None):
        super().__init__(message)
        self.message = message
        self.output = output


class Unsupported(StepFailed):
    """Imbrace Local cannot execute this step (CODE, unknown piece/action/trigger)."""

    def __init__(self, what: str):
        super().__init__(
            f"Imbrace Local cannot execute {what}; the supported pieces and actions are listed "
            f"in {SUPPORTED_DOC}"
        )


class PauseRun(Exception):
    """The step asks the run to pause until `resume_at` (the server schedules the resume)."""

    def __init__(self, resume_at: datetime):
        super().__init__(resume_at.isoformat())
        self.resume_at = resume_at


class StopRun(Exception):
    """The step ends the run successfully right now (Return Response with respond=stop)."""

    def __init__(self, output: Any):
        super().__init__("stop")
        self.output = output
