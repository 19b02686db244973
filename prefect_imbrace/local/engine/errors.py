"""Signals raised by step handlers and caught by the executor (never leave the engine)."""

from __future__ import annotations

import json
import math
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
    """The step pauses the run: until `resume_at` (a delay, the server's timer resumes it) or,
    without one, until a request reaches its resume URL (`response` is what the webhook caller
    gets meanwhile; `output` is the step's recorded output while PAUSED)."""

    def __init__(self, resume_at: datetime | None = None, *, response: dict | None = None,
                 output: Any = None):
        super().__init__(resume_at.isoformat() if resume_at else "webhook")
        self.resume_at = resume_at
        self.response = response
        self.output = {} if output is None else output


def _reject_constant(name: str) -> Any:
    raise ValueError(name)  # NaN/Infinity: JavaScript's JSON.parse refuses them


def format_error(message: str) -> str:
    """A failed step's `errorMessage`, formatted as the engine formats a thrown error.

    The engine (utils.formatError) re-prints a message that is JSON as indented JSON (an HTTP
    piece error: `{"response": {"status": 500}, "request": {}}` over four lines) and shows
    anything else as Node's inspection of the error, whose first line is `Error: <message>`;
    Imbrace Local has no JavaScript stack to print after it.
    """
    try:
        parsed = json.loads(message, parse_constant=_reject_constant)
    except ValueError:
        return f"Error: {message}"
    if isinstance(parsed, float) and not math.isfinite(parsed):
        return f"Error: {message}"
    return json.dumps(parsed, indent=2, ensure_ascii=False)


class StopRun(Exception):
    """The step ends the run successfully right now (Return Response with respond=stop)."""

    def __init__(self, output: Any):
        super().__init__("stop")
        self.output = output
