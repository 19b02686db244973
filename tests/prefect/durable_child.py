"""A Prefect flow run in a process of its own (test_durable_record.py kills it with SIGKILL).

    python durable_child.py <flow run id>

runs the given flow run of `child` to its end and prints its final state as one JSON line.
"""

from __future__ import annotations

import json
import sys

from prefect import flow

from prefect_imbrace.credentials import ImbraceCredentials
from prefect_imbrace.tasks import trigger_flow_and_wait


@flow(name="durable-record-child")
def child(gateway: str, api_key: str, flow_id: str) -> dict:
    creds = ImbraceCredentials(api_key=api_key, gateway=gateway, timeout=10, max_retries=1)
    result = trigger_flow_and_wait(creds, flow_id, {"n": 1})
    return {"run_id": result.run_id, "status": result.status}


def main(flow_run_id: str) -> None:
    from prefect.client.orchestration import get_client
    from prefect.flow_engine import run_flow

    with get_client(sync_client=True) as client:
        flow_run = client.read_flow_run(flow_run_id)
    state = run_flow(child, flow_run=flow_run, parameters=flow_run.parameters, return_type="state")
    out = {"state": state.type.value, "run_count": flow_run.run_count}
    if state.is_completed():
        out["result"] = state.result()
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
