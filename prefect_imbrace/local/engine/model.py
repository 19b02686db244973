"""The data the server hands the engine and the outcome it gets back.

Kept free of any server or storage type so the executor can be driven directly by tests.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime


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


@dataclass
class ExecutionOutcome:
    """How an execution ended; `steps` is what `GET /v1/flow-runs/{id}` shows."""

    status: str
    steps: dict[str, dict]
    failed_step: dict | None = None
    resume_at: datetime | None = None
    response: dict | None = None
