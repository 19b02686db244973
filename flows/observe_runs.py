"""Observe Imbrace runs started outside Prefect (schedules, webhooks called by other systems).

    uv run python flows/observe_runs.py

`observe_imbrace_runs` lists the runs created since its last pass (its cursor is a Prefect
Variable) and emits one `imbrace.flow-run.<status>` event per new status, so automations and
the event feed see every run, not only those Prefect started. Deploy it on an interval:

    observe_runs.serve(name="imbrace-observer", interval=60, parameters={...})

Here, on Imbrace Local, a few runs are started directly with the client (no Prefect involved),
then one observer pass reports them.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from typing import Any

from imbrace_demo import (
    build_echo,
    credentials_block_for,
    imbrace_target,
    load_credentials,
    prefect_api,
)
from prefect import flow

from prefect_imbrace.client import ImbraceClient
from prefect_imbrace.flows import observe_imbrace_runs


@flow(name="imbrace-observer")
def observe_runs(
    flow_ids: Sequence[str] | None = None,
    credentials_block: str | None = None,
    variable_name: str = "imbrace-observer-cursor",
) -> int:
    """One observer pass over `flow_ids` (all flows when empty); returns the events emitted."""
    return observe_imbrace_runs(
        load_credentials(credentials_block), flow_ids=flow_ids, variable_name=variable_name
    )


def start_runs_outside_prefect(client: ImbraceClient, flow_id: str, count: int) -> list[str]:
    """Trigger `count` runs with the plain client and wait until the engine finished them."""
    for n in range(count):
        client.workflows.trigger_flow(flow_id=flow_id, payload={"n": n})
    for _ in range(100):  # bounded: Local finishes these echo runs in milliseconds
        runs = list(client.workflows.iter_runs(flow_id=flow_id))
        if len(runs) == count and all(run.is_terminal for run in runs):
            return [run.id for run in runs]
        time.sleep(0.1)
    raise TimeoutError(f"The {count} runs of Imbrace flow {flow_id} did not finish.")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flow-id", action="append", help="real Imbrace: flows to observe")
    args = parser.parse_args(argv)
    with prefect_api(), imbrace_target() as target:
        flow_ids: Any = args.flow_id
        if target.is_local:
            with target.client() as client:
                flow_id = build_echo(client, "Observed: echo")
                run_ids = start_runs_outside_prefect(client, flow_id, 3)
            print(f"Started {len(run_ids)} Imbrace runs without Prefect: {', '.join(run_ids)}.")
            flow_ids = [flow_id]
        emitted = observe_runs(flow_ids, credentials_block_for(target))
        print(f"The observer emitted {emitted} imbrace.flow-run.* events.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
