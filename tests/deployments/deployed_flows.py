"""Prefect flows that the deployment tests deploy to a real server (run by process workers)."""

from __future__ import annotations

import os
import time
from typing import Any

from prefect import flow, unmapped
from prefect.variables import Variable

from prefect_imbrace.credentials import ImbraceCredentials
from prefect_imbrace.exceptions import ImbraceRunError
from prefect_imbrace.jobs import ImbraceFlow
from prefect_imbrace.tasks import trigger_flow_and_wait, trigger_many_and_wait


@flow(log_prints=True)
def hello(name: str = "world") -> dict:
    """The smallest deployed flow: proves server, pool, worker and deployment work together."""
    return {"greeting": f"hello {name}", "pid": os.getpid()}


@flow
def wait_on_imbrace(block: str, flow_id: str, index: int, wait: dict[str, Any] | None = None,
                    start_gate: str | None = None) -> dict:
    """Trigger one Imbrace run and wait for it (options of the wait in `wait`).

    `start_gate`: first wait until the Prefect Variable of that name exists, so that flow runs
    started one by one trigger together (as runs scheduled for the same minute would).
    """
    credentials = ImbraceCredentials.load(block)
    while start_gate and Variable.get(start_gate) is None:
        time.sleep(0.5)
    result = trigger_flow_and_wait(credentials, flow_id, {"index": index}, **(wait or {}))
    return {"run_id": result.run_id, "payload": result.payload, "key": result.idempotency_key,
            "pid": os.getpid()}


@flow
def fan_out_on_imbrace(block: str, flow_id: str, count: int, wait: dict[str, Any] | None = None) -> list:
    """`trigger_many_and_wait` over `count` payloads `{"n": i}` (options in `wait`)."""
    credentials = ImbraceCredentials.load(block)
    results = trigger_many_and_wait(credentials, flow_id, [{"n": i} for i in range(count)],
                                    **(wait or {}))
    return [{"run_id": r.run_id, "payload": r.payload, "key": r.idempotency_key} for r in results]


@flow
def tasks_on_imbrace(block: str, flow_id: str, count: int) -> list:
    """`count` `trigger_flow_and_wait` task runs at once (`.map` over payloads `{"n": i}`)."""
    credentials = ImbraceCredentials.load(block)
    futures = trigger_flow_and_wait.map(
        unmapped(credentials), unmapped(flow_id), [{"n": i} for i in range(count)]
    )
    return [{"run_id": r.run_id, "payload": r.payload, "key": r.idempotency_key}
            for r in futures.result()]


@flow
def imbrace_flow_job(block: str, flow_id: str, defer_after: float, timeout: float) -> dict:
    """The `ImbraceFlow` block's trigger / wait_for_completion / fetch_result with a deferral."""
    job = ImbraceFlow(imbrace_credentials=ImbraceCredentials.load(block), flow_id=flow_id,
                      defer_after_seconds=defer_after, timeout_seconds=timeout)
    run = job.trigger(payload={"n": "job"})
    run.wait_for_completion()
    result = run.fetch_result()
    return {"run_id": result.run_id, "payload": result.payload, "adopted": run.adopted,
            "pid": os.getpid()}


@flow
def error_of_wait(block: str, flow_id: str, wait: dict[str, Any] | None = None) -> dict:
    """Trigger one Imbrace run and wait; return the error the wait raised (type and fields)."""
    credentials = ImbraceCredentials.load(block)
    try:
        trigger_flow_and_wait(credentials, flow_id, {"n": "fails"}, **(wait or {}))
    except ImbraceRunError as exc:
        return {"type": type(exc).__name__, "message": exc.message, "run_id": exc.run_id,
                "status": exc.status, "failed_step": exc.failed_step,
                "error_message": exc.error_message}
    raise AssertionError("the wait returned although the Imbrace run failed")
