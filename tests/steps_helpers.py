"""Imbrace flows with known steps, and reading the task runs and logs Prefect recorded for them.

Shared by the steps tests (tests/prefect, tests/ui, tests/reliability) and the benchmarks.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any
from uuid import UUID

from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    FlowRunFilter,
    FlowRunFilterId,
    LogFilter,
    LogFilterTaskRunId,
)
from prefect.client.schemas.objects import TaskRun
from prefect.logging.handlers import APILogHandler

from prefect_imbrace.client import ImbraceClient, create_webhook_flow
from prefect_imbrace.client import operations as ops

CLOSED_PORT_URL = "http://127.0.0.1:9/never"
MAPPER = ("@activepieces/piece-data-mapper", "0.3.14", "advanced_mapping")
THREE_STEP_NAMES = ["trigger · Catch Webhook", "step_1 · Map", "step_2 · Send email", "step_3 · Reply"]


def mapper(name: str, mapping: dict[str, Any], display_name: str = "Map") -> Any:
    return ops.piece_action(name, *MAPPER, {"mapping": mapping}, display_name=display_name)


def three_steps(client: ImbraceClient, *, fail: bool, name: str | None = None) -> str:
    """trigger -> step_1 Map -> step_2 Send email (an HTTP GET of `trigger.body.url`, or of a
    closed port when `fail`: the engine's connection error) -> step_3 Reply."""
    url = CLOSED_PORT_URL if fail else "{{trigger.body.url}}"
    return create_webhook_flow(client, name or ("Three steps, failing" if fail else "Three steps"), [
        mapper("step_1", {"to": "{{trigger.body.to}}"}),
        ops.http_request("step_2", "GET", url, display_name="Send email"),
        ops.return_response("step_3", body={"sent": True}, display_name="Reply"),
    ]).id


def structured(client: ImbraceClient) -> str:
    """trigger -> step_1 Loop on {{trigger.body.items}} { step_2 Map } -> step_3 Router
    (branch "big" when body.n > 5: step_4; otherwise: step_5) -> step_6 (skip) -> step_7 Reply."""
    router = ops.router("step_3", [ops.branch("big", ops.condition("{{trigger.body.n}}",
                                                                   "NUMBER_IS_GREATER_THAN", 5)),
                                   ops.fallback_branch()], display_name="Route")
    flow = create_webhook_flow(client, "Structured", [
        ops.loop("step_1", "{{trigger.body.items}}", display_name="Each item"),
    ], publish=False)
    # steps after a loop or a router need location AFTER (create_webhook_flow chains plain steps)
    for operation in (
        ops.add_action("step_1", mapper("step_2", {"item": "{{step_1.item}}"}, "Map item"),
                       location="INSIDE_LOOP"),
        ops.add_action("step_1", router, location="AFTER"),
        ops.add_action("step_3", mapper("step_4", {"big": True}, "Big"), branch_index=0),
        ops.add_action("step_3", mapper("step_5", {"big": False}, "Small"), branch_index=1),
        ops.add_action("step_3", mapper("step_6", {"never": True}, "Skipped map"), location="AFTER"),
        ops.add_action("step_6", ops.return_response("step_7", body={"ok": True},
                                                     display_name="Reply")),
        ops.set_skip_action("step_6"),
        ops.lock_and_publish(),
    ):
        flow = client.workflows.apply_flow_operation(flow_id=flow.id, operation=operation)
    return flow.id


def many_steps(client: ImbraceClient, count: int, name: str = "Many steps") -> str:
    """trigger -> `count` data-mapper steps (no waiting anywhere)."""
    return create_webhook_flow(client, name, [
        mapper(f"step_{i}", {"i": i}, f"Map {i}") for i in range(1, count + 1)
    ]).id


async def task_runs_of(flow_run_id: UUID, expected: int, timeout: float = 90.0) -> list[TaskRun]:
    """The flow run's task runs once at least `expected` are recorded (events arrive late)."""
    deadline = time.monotonic() + timeout
    async with get_client() as client:
        while True:
            runs = await client.read_task_runs(
                flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])))
            if len(runs) >= expected or time.monotonic() > deadline:
                return runs
            await asyncio.sleep(0.5)


async def logs_of(task_run_id: UUID, timeout: float = 30.0) -> list[str]:
    """The messages logged on a task run (waits until there is one)."""
    deadline = time.monotonic() + timeout
    async with get_client() as client:
        while True:
            await APILogHandler.aflush()
            logs = await client.read_logs(
                log_filter=LogFilter(task_run_id=LogFilterTaskRunId(any_=[task_run_id])))
            if logs or time.monotonic() > deadline:
                return [log.message for log in logs]
            await asyncio.sleep(0.5)


def by_name(runs: list[TaskRun]) -> dict[str, TaskRun]:
    return {run.name: run for run in runs}


def waiting_task(runs: list[TaskRun], prefix: str = "Trigger Imbrace flow") -> TaskRun:
    return next(run for run in runs if run.name.startswith(prefix))


def parent_ids(run: TaskRun) -> list[UUID]:
    return [p.id for p in run.task_inputs.get("__parents__", [])]  # type: ignore[union-attr]
