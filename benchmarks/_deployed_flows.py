"""The Prefect flow the deployment benchmarks deploy (run by process workers)."""

from __future__ import annotations

import os
import time
from typing import Any

from prefect import flow

from prefect_imbrace.credentials import ImbraceCredentials
from prefect_imbrace.tasks import trigger_flow_and_wait, trigger_many_and_wait


@flow
def wait_on_imbrace(block: str, flow_id: str, index: int, wait: dict[str, Any] | None = None) -> dict:
    """Trigger one Imbrace run and wait for it (options of the wait in `wait`)."""
    credentials = ImbraceCredentials.load(block)
    result = trigger_flow_and_wait(credentials, flow_id, {"index": index}, **(wait or {}))
    return {"run_id": result.run_id, "payload": result.payload, "key": result.idempotency_key,
            "pid": os.getpid()}


@flow
def sleep_like_imbrace(seconds: float, limit: str, index: int) -> dict:
    """fleet_60[floor]: hold a slot of the same in-flight limit as long as an Imbrace run lasts.

    The same deployment flow run as `wait_on_imbrace` (process, imports, states, the shared
    limit) without the package: what Prefect's own part of the fleet costs.
    """
    from prefect.concurrency.sync import concurrency

    with concurrency(limit, occupy=1):
        time.sleep(seconds)
    return {"index": index, "pid": os.getpid()}


@flow
def many_waits(block: str, flow_id: str, count: int) -> int:
    """The fleet's 60 waits in one process (`trigger_many_and_wait`): fleet_60's baseline."""
    credentials = ImbraceCredentials.load(block)
    results = trigger_many_and_wait(credentials, flow_id, [{"index": i} for i in range(count)])
    return len(results)


if __name__ == "__main__":  # python _deployed_flows.py BLOCK FLOW_ID COUNT (env: the server's)
    import sys

    print(many_waits(sys.argv[1], sys.argv[2], int(sys.argv[3])))
