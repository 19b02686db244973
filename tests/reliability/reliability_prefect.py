"""Driving M logical triggers through real Prefect flows and reading back what Prefect recorded."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from typing import Any

from prefect import flow
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
from prefect.runtime import flow_run as current_flow_run

from prefect_imbrace.tasks import atrigger_flow_and_wait


@flow(name="reliability-fan-out")
async def fan_out(
    creds: Any, flow_id: str, m: int, task_options: dict[str, Any] | None = None,
    call_options: dict[str, Any] | None = None,
) -> str:
    """M concurrent `atrigger_flow_and_wait` task runs (one per logical trigger); returns the
    flow run id so the test reads each task run's final state from the Prefect API."""
    task = atrigger_flow_and_wait.with_options(**task_options) if task_options else atrigger_flow_and_wait
    calls = [task(creds, flow_id, {"i": i}, return_state=True, **(call_options or {}))
             for i in range(m)]
    await asyncio.gather(*calls)
    return str(current_flow_run.id)


async def task_runs(flow_run_id: str, settle_s: float = 60.0) -> list[Any]:
    """The task runs of a flow run as the Prefect API stores them, once their states settled.

    Task run states reach the API asynchronously (client-side orchestration), so a state read
    right after the flow returned may still say Running; read again until none does (bounded).
    """
    deadline = time.monotonic() + settle_s
    while True:
        found = await _read_task_runs(flow_run_id)
        settled = all(run.state is not None and run.state.is_final() for run in found)
        if settled or time.monotonic() > deadline:
            return found
        await asyncio.sleep(0.5)


async def _read_task_runs(flow_run_id: str) -> list[Any]:
    found: list[Any] = []
    async with get_client() as client:
        for _ in range(100):
            page = await client.read_task_runs(
                flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])),
                limit=200, offset=len(found),
            )
            found.extend(page)
            if len(page) < 200:
                break
    # the Imbrace steps shown under each waiting task (prefect_imbrace.run_graph) are task runs
    # too; the suite counts the waiting tasks
    return [run for run in found if not run.task_key.startswith("imbrace-steps-")]


def state_counts(runs: list[Any]) -> dict[str, int]:
    return dict(Counter(run.state.name if run.state else "no state" for run in runs))
