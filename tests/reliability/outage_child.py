"""A Prefect flow run in a process of its own, fanning out while its Prefect API goes away.

    python outage_child.py <flow run id>

runs the given flow run of `fan_out_through_outage` (test_prefect_api_outage.py stops the
Prefect server under it) and prints its final state and result as one JSON line. The API key
comes from `IMBRACE_API_KEY` in the environment, never from a flow parameter (which the
Prefect API stores).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

from prefect import flow

from prefect_imbrace.credentials import ImbraceCredentials
from prefect_imbrace.tasks import (
    atrigger_flow_and_wait,
    trigger_flow_and_wait,
    trigger_many_and_wait,
)


def _wait_for(path: Path) -> None:
    while not path.exists():
        time.sleep(0.1)


@flow(name="prefect-api-outage")
def fan_out_through_outage(gateway: str, flows: dict[str, str], n: int, keyed: int,
                           go_file: str) -> dict[str, Any]:
    """Before the outage: `n` `trigger_flow_and_wait` tasks, one `trigger_many_and_wait` of
    `n` and `keyed` tasks with an explicit key (claimed on the Prefect API). Once the go-file
    says the API is down: `keyed` explicit keys, each asked by two async tasks (claims during
    the outage, each task on an event loop of its own, so on a Prefect client that has not
    connected yet), `keyed` first attempts whose runs outlive `record_after` (journal
    writes during the outage) and one `trigger_many_and_wait` of `keyed`."""
    creds = ImbraceCredentials(gateway=gateway, timeout=10, max_retries=3)

    def one(task: Any, flow_id: str, i: int, key: str | None = None) -> Any:
        return task.submit(creds, flow_id, {"n": i}, idempotency_key=key)

    before = {
        "tasks": [one(trigger_flow_and_wait, flows["tasks"], i) for i in range(n)],
        "many": [trigger_many_and_wait.submit(creds, flows["many"], [{"n": i} for i in range(n)])],
        "keyed": [one(trigger_flow_and_wait, flows["keyed"], i, f"before-{i}")
                  for i in range(keyed)],
    }
    _wait_for(Path(go_file))
    during = {
        "claimed": [one(atrigger_flow_and_wait, flows["claimed"], i, f"during-{i}")
                    for i in list(range(keyed)) * 2],
        "journaled": [one(trigger_flow_and_wait, flows["journaled"], i) for i in range(keyed)],
        "many_during": [trigger_many_and_wait.submit(creds, flows["many_during"],
                                                     [{"n": i} for i in range(keyed)])],
    }
    results = {name: [f.result() for f in futures] for name, futures in {**before, **during}.items()}
    results["many"], results["many_during"] = results["many"][0], results["many_during"][0]
    return {name: [[r.run_id, r.status, r.payload] for r in values]
            for name, values in results.items()}


def main(flow_run_id: str) -> None:
    from prefect.client.orchestration import get_client
    from prefect.flow_engine import run_flow

    with get_client(sync_client=True) as client:
        flow_run = client.read_flow_run(flow_run_id)
    state = run_flow(fan_out_through_outage, flow_run=flow_run, parameters=flow_run.parameters,
                     return_type="state")
    out: dict[str, Any] = {"state": state.type.value}
    if state.is_completed():
        out["result"] = state.result()
    else:
        out["message"] = state.message
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
