"""A deployed wait that gives its worker back: `defer_after`, the resumer and shared limits.

    uv run python flows/deferred_approval.py                  # run once here (Imbrace Local if no key)
    uv run python flows/deferred_approval.py --deploy --pool my-pool   # deploy it and the resumer

The Imbrace flow waits for a person's approval. On Imbrace Local it is built here: it answers
`{"awaiting": "approval"}` and PAUSES (Respond and Wait for Next Webhook) until someone calls
the run's resume URL, then replies with the decision; run once here, a stand-in approver calls
that URL after `--approve-after` seconds. Deployed, the Prefect flow run suspends after
`defer_after` seconds and holds no worker while the person takes their time; the resumer
resumes it when the Imbrace run ends, and the wait adopts the run it started (the trigger is
never sent twice). Run directly, there is no deployment to resume, so the wait blocks as usual.

The credentials block can name shared limits (docs/how-to/deploy-deferred-waits.md):
`--concurrency-limit imbrace-runs --rate-limit imbrace-requests`.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from typing import Any

from imbrace_demo import (
    credentials_block_for,
    flow_ids_from,
    imbrace_target,
    load_credentials,
    prefect_api,
)
from prefect import flow
from prefect.deployments.runner import RunnerDeployment

from prefect_imbrace.client import create_webhook_flow
from prefect_imbrace.client import operations as ops
from prefect_imbrace.tasks import trigger_flow_and_wait

DEPLOYMENT_NAME = "imbrace-deferred-approval"


@flow(name="imbrace-deferred-approval", persist_result=True)
def deferred_approval(
    flow_id: str,
    request: dict[str, Any] | None = None,
    credentials_block: str | None = None,
    defer_after: float | None = 30,
    timeout: float = 3 * 24 * 3600,
) -> dict[str, Any]:
    """Trigger `flow_id` and wait up to `timeout`; deployed, suspend after `defer_after`."""
    credentials = load_credentials(credentials_block)
    result = trigger_flow_and_wait(
        credentials, flow_id, request or {"invoice": "INV-1", "amount": 120},
        defer_after=defer_after, timeout=timeout,
    )
    return {"run_id": result.run_id, "status": result.status, "payload": result.payload}


def build_approval_flow(client: Any) -> str:
    """On Imbrace Local: asks for approval and PAUSES until its resume URL is called."""
    return create_webhook_flow(client, "Deferred approval: invoice", [
        ops.respond_and_wait("step_1", body={"awaiting": "approval", "request": "{{trigger.body}}"}),
        ops.return_response("step_2", body={"approved": "{{step_1.body.approved}}",
                                            "by": "{{step_1.body.by}}", "request": "{{trigger.body}}"}),
    ]).id


def approve(client: Any, flow_id: str, decision: dict[str, Any], limit_s: float = 300) -> str:
    """The approver: find the run PAUSED for approval and call its resume URL; the run id.

    A person would open `run.resume_url` (the step's `nextWebhookUrl`) from a notification;
    here the client's `resume_run` calls it.
    """
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        for listed in client.workflows.list_runs(flow_id=flow_id, status="PAUSED").data:
            run = client.workflows.get_run(listed.id)
            if run.resume_request_id:
                print(f"Imbrace run {run.id} awaits approval at {run.resume_url}")
                client.workflows.resume_run(run.id, run.resume_request_id, decision)
                return str(run.id)
        time.sleep(0.5)
    raise TimeoutError(f"no run of Imbrace flow {flow_id} asked for approval within {limit_s:.0f}s")


def build_deployment(flow_id: str, credentials_block: str | None, defer_after: float = 30) -> RunnerDeployment:
    """The deployment `--deploy` applies (on a process pool, from this folder)."""
    return deferred_approval.to_deployment(
        name=DEPLOYMENT_NAME,
        parameters={"flow_id": flow_id, "credentials_block": credentials_block,
                    "defer_after": defer_after},
        description="Waits on an Imbrace flow without holding a worker (defer_after).",
        tags=["imbrace"],
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flow-id", help="real Imbrace: the flow to run (or IMBRACE_FLOW_ID)")
    parser.add_argument("--deploy", action="store_true", help="deploy this flow and the resumer")
    parser.add_argument("--pool", default="imbrace-examples", help="process work pool (--deploy)")
    parser.add_argument("--approve-after", type=float, default=10.0,
                        help="Imbrace Local, run once: seconds before the stand-in approver approves")
    args = parser.parse_args(argv)
    with prefect_api(), imbrace_target() as target:
        if target.is_local:
            with target.client() as client:
                flow_id = build_approval_flow(client)
        else:
            (flow_id,) = flow_ids_from([args.flow_id], ["IMBRACE_FLOW_ID"])
        block = credentials_block_for(target)
        if args.deploy:
            from prefect_imbrace.exactly_once.resumer import deploy_resumer

            if block is None:
                parser.error("--deploy needs a saved credentials block (IMBRACE_CREDENTIALS_BLOCK)")
            deployment_id = build_deployment(flow_id, block).apply(work_pool_name=args.pool)
            deploy_resumer(block, work_pool_name=args.pool)
            print(f"Deployed {DEPLOYMENT_NAME} ({deployment_id}) and the resumer on {args.pool!r}; "
                  f"start a worker: prefect worker start --pool {args.pool}")
            return 0
        if target.is_local:
            threading.Thread(target=_approve_later, args=(target, flow_id, args.approve_after),
                             daemon=True).start()
        outcome = deferred_approval(flow_id, credentials_block=block)
        print(f"Imbrace run {outcome['run_id']}: {outcome['status']}, payload {outcome['payload']}")
    return 0


def _approve_later(target: Any, flow_id: str, seconds: float) -> None:
    time.sleep(seconds)
    with target.client() as client:
        approve(client, flow_id, {"approved": True, "by": "stand-in approver"})


if __name__ == "__main__":
    sys.exit(main())
