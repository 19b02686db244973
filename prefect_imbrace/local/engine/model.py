"""The data the server hands the engine and the outcome it gets back.

Kept free of any server or storage type so the executor can be driven directly by tests.
"""

from __future__ import annotations

import secrets
import string
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

_ID_CHARS = string.ascii_letters + string.digits


def new_engine_id() -> str:
    """A random 21-character id, the shape of the engine's ids."""
    return "".join(secrets.choice(_ID_CHARS) for _ in range(21))


@dataclass
class RunContext:
    """Everything one execution (first attempt, resume or retry) needs."""

    run_id: str
    flow_id: str
    flow_version_id: str
    project_id: str
    trigger: dict
    trigger_output: dict
    previous_steps: dict = field(default_factory=dict)
    connections: Mapping[str, dict] = field(default_factory=dict)
    http_allow_hosts: frozenset[str] = frozenset()
    deadline: float | None = None
    on_response: Callable[[dict], Awaitable[None]] | None = None
    public_url: str = "http://127.0.0.1/activepieces/"
    """The engine's PUBLIC_URL (`GET /v1/flags`): resume URLs are built on it."""
    pause_request_id: str = field(default_factory=new_engine_id)
    """The id a webhook pause of this execution waits for (in its resume URL)."""
    resume_payload: dict[str, Any] | None = None
    """`{body, headers, queryParams}` of the request that resumed a webhook pause."""


@dataclass
class ExecutionOutcome:
    """How an execution ended; `steps` is what `GET /v1/flow-runs/{id}` shows."""

    status: str
    steps: dict[str, dict]
    failed_step: dict | None = None
    resume_at: datetime | None = None
    response: dict | None = None
    pause: dict | None = None
    """For PAUSED: `{"type": "DELAY", "resumeAt"}` or `{"type": "WEBHOOK", "requestId",
    "response"}` (the engine's pauseMetadata)."""
