"""A recurring trigger: a Prefect deployment that runs an Imbrace flow on a cron schedule.

    uv run python flows/recurring_trigger.py            # run it once now (Imbrace Local if no key)
    uv run python flows/recurring_trigger.py --serve    # serve it: Prefect runs it on the cron

The same deployment is declared in `flows/prefect.yaml` for `prefect deploy`. Every scheduled
run triggers the Imbrace flow exactly once: the idempotency key comes from the Prefect task run,
so a retry adopts the Imbrace run already started instead of starting a second one.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from imbrace_demo import (
    build_echo,
    credentials_block_for,
    flow_ids_from,
    imbrace_target,
    load_credentials,
    prefect_api,
)
from prefect import flow, serve
from prefect.deployments.runner import RunnerDeployment

from prefect_imbrace.tasks import trigger_flow_and_wait

DEPLOYMENT_NAME = "imbrace-every-15-minutes"
DEFAULT_CRON = "*/15 * * * *"


@flow(name="imbrace-recurring-trigger")
def recurring_trigger(
    flow_id: str,
    payload: dict[str, Any] | None = None,
    credentials_block: str | None = None,
) -> dict[str, Any]:
    """Trigger `flow_id` once and wait for its run; fail the Prefect run if it fails."""
    credentials = load_credentials(credentials_block)
    result = trigger_flow_and_wait(credentials, flow_id, payload or {"source": "prefect-schedule"})
    return {"run_id": result.run_id, "status": result.status, "payload": result.payload}


def build_deployment(
    flow_id: str, credentials_block: str | None = None, cron: str = DEFAULT_CRON
) -> RunnerDeployment:
    """The deployment `--serve` runs: `recurring_trigger` on `cron` (UTC)."""
    return recurring_trigger.to_deployment(
        name=DEPLOYMENT_NAME,
        cron=cron,
        parameters={"flow_id": flow_id, "credentials_block": credentials_block},
        description="Runs an Imbrace flow on a cron schedule.",
        tags=["imbrace"],
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flow-id", help="real Imbrace: the flow to run (or IMBRACE_FLOW_ID)")
    parser.add_argument("--cron", default=DEFAULT_CRON)
    parser.add_argument("--serve", action="store_true", help="serve the deployment (Ctrl-C stops)")
    args = parser.parse_args(argv)
    with prefect_api(), imbrace_target() as target:
        if target.is_local:
            with target.client() as client:
                flow_id = build_echo(client, "Recurring: echo")
        else:
            (flow_id,) = flow_ids_from([args.flow_id], ["IMBRACE_FLOW_ID"])
        block = credentials_block_for(target)
        deployment = build_deployment(flow_id, block, args.cron)
        if args.serve:
            print(f"Serving {DEPLOYMENT_NAME!r} on {args.cron!r}; Ctrl-C stops.")
            serve(deployment)
            return 0
        outcome = recurring_trigger(flow_id, credentials_block=block)
        print(f"Imbrace run {outcome['run_id']}: {outcome['status']}, payload {outcome['payload']}")
        print(f"With --serve, Prefect runs this on the cron {args.cron!r}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
