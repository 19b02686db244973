"""Prefect flows that the deployment tests deploy to a real server (run by process workers)."""

from __future__ import annotations

import os
from typing import Any

from prefect import flow

from prefect_imbrace.credentials import ImbraceCredentials
from prefect_imbrace.tasks import trigger_flow_and_wait


@flow(log_prints=True)
def hello(name: str = "world") -> dict:
    """The smallest deployed flow: proves server, pool, worker and deployment work together."""
    return {"greeting": f"hello {name}", "pid": os.getpid()}


@flow
def wait_on_imbrace(block: str, flow_id: str, index: int, wait: dict[str, Any] | None = None) -> dict:
    """Trigger one Imbrace run and wait for it (options of the wait in `wait`)."""
    credentials = ImbraceCredentials.load(block)
    result = trigger_flow_and_wait(credentials, flow_id, {"index": index}, **(wait or {}))
    return {"run_id": result.run_id, "payload": result.payload, "key": result.idempotency_key,
            "pid": os.getpid()}
