"""An Imbrace run's steps in the Prefect run graph: a run that fails at step 2, one that succeeds.

    uv run python flows/steps_in_graph.py

Builds a three-step Imbrace flow, *Welcome email* (step_1 builds the message, step_2 "Send
email" calls the mail service named in the payload, step_3 replies), and runs it from Prefect
twice: once with a mail service that answers (on Imbrace Local: Local's own status page) and
once with one that is down (a closed port), so step_2 fails with the engine's error. Each
Prefect flow run shows the Imbrace run's steps as task runs nested under the waiting task:
open the flow run in the Prefect UI and expand the task, or look at `/v2`, where the graph
shows them unfolded. A fan-out of three (one to the service that is down) shows the failed
run only, with its steps. Then two runs are started outside Prefect, and one pass of
`observe_imbrace_runs(reflect_runs=True)` writes them as flow runs of the Prefect flow
`Imbrace · Welcome email · <flow id>`.

It needs Imbrace Local (started here, or `IMBRACE_API_KEY` and `IMBRACE_GATEWAY_URL` of one
you started); the last line it prints is JSON with the ids of the Prefect flow runs.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

from imbrace_demo import imbrace_target, mapper, prefect_api
from prefect import flow

from prefect_imbrace.client import ImbraceClient, create_webhook_flow
from prefect_imbrace.client import operations as ops
from prefect_imbrace.credentials import ImbraceCredentials
from prefect_imbrace.flows import observe_imbrace_runs
from prefect_imbrace.run_links import gateway_of
from prefect_imbrace.tasks import trigger_flow_and_wait, trigger_many_and_wait

MAIL_SERVICE_DOWN = "http://127.0.0.1:9/send"


@flow(name="imbrace-welcome-email")
def welcome_email(imbrace_credentials: ImbraceCredentials, flow_id: str, to: str, mail_service: str) -> Any:
    """Run the Imbrace flow once and wait: its steps show as task runs under the waiting task."""
    return trigger_flow_and_wait(imbrace_credentials, flow_id, {"to": to, "mail_service": mail_service}).payload


@flow(name="imbrace-welcome-emails")
def welcome_emails(imbrace_credentials: ImbraceCredentials, flow_id: str,
                   recipients: dict[str, str]) -> list[str]:
    """One run per recipient in one task; by default only failed runs show their steps."""
    results = trigger_many_and_wait(imbrace_credentials, flow_id, [
        {"to": to, "mail_service": service} for to, service in recipients.items()
    ], return_exceptions=True)
    return [getattr(r, "status", None) or type(r).__name__ for r in results]


def build_welcome_email(client: ImbraceClient) -> str:
    return create_webhook_flow(client, "Welcome email", [
        mapper("step_1", {"to": "{{trigger.body.to}}", "subject": "Welcome!"}),
        ops.http_request("step_2", "GET", "{{trigger.body.mail_service}}", display_name="Send email"),
        ops.return_response("step_3", body={"sent_to": "{{step_1.to}}"}, display_name="Reply"),
    ]).id


def start_outside_prefect(client: ImbraceClient, flow_id: str, payloads: list[dict[str, Any]]) -> list[str]:
    """Trigger each payload with the plain client (as another system would) and wait for the end."""
    before = {run.id for run in client.workflows.iter_runs(flow_id=flow_id)}
    for payload in payloads:
        client.workflows.trigger_flow(flow_id=flow_id, payload=payload)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        new = [run for run in client.workflows.iter_runs(flow_id=flow_id) if run.id not in before]
        if len(new) == len(payloads) and all(run.is_terminal for run in new):
            return [run.id for run in new]
        time.sleep(0.5)
    raise TimeoutError(f"the runs started outside Prefect did not end within 120 s: {flow_id}")


def observed_flow_run_ids(run_ids: list[str]) -> dict[str, str]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterName

    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(flow_run_filter=FlowRunFilter(
            name=FlowRunFilterName(any_=[f"imbrace-run-{r}" for r in run_ids])))
    return {run.state_type.value: str(run.id) for run in runs if run.state_type}


def main() -> int:
    with prefect_api(), imbrace_target() as target:
        if not target.is_local:
            print("This example builds its Imbrace flow: point it at Imbrace Local "
                  "(unset IMBRACE_API_KEY, or set IMBRACE_GATEWAY_URL to a Local you started).")
            return 2
        working = f"{gateway_of(target.credentials)}/_local/ui"
        with target.client() as client:
            flow_id = build_welcome_email(client)
        print(f"Built the Imbrace flow 'Welcome email' ({flow_id}).")
        done = welcome_email(target.credentials, flow_id, "ada@example.com", working, return_state=True)
        failed = welcome_email(target.credentials, flow_id, "bob@example.com", MAIL_SERVICE_DOWN,
                               return_state=True)
        print(f"Mail service up: {done.type.value}; mail service down: {failed.type.value}.")
        fan_out = welcome_emails(target.credentials, flow_id, {
            "eve@example.com": working, "fay@example.com": MAIL_SERVICE_DOWN,
            "gus@example.com": working,
        }, return_state=True)
        print(f"Fan-out of three: {fan_out.result()}.")
        with target.client() as client:
            outside = start_outside_prefect(client, flow_id, [
                {"to": "cy@example.com", "mail_service": working},
                {"to": "dee@example.com", "mail_service": MAIL_SERVICE_DOWN},
            ])
        observe_imbrace_runs(target.credentials, flow_ids=[flow_id],
                             variable_name=f"imbrace-steps-demo-{flow_id.lower()}", reflect_runs=True)
        observed = observed_flow_run_ids(outside)
        print(f"Observed {len(observed)} runs started outside Prefect as Prefect flow runs.")
        print(json.dumps({
            "imbrace_flow_id": flow_id,
            "completed_flow_run": str(done.state_details.flow_run_id),
            "failed_flow_run": str(failed.state_details.flow_run_id),
            "fan_out_flow_run": str(fan_out.state_details.flow_run_id),
            "observed_completed_flow_run": observed.get("COMPLETED"),
            "observed_failed_flow_run": observed.get("FAILED"),
        }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
