"""Event-driven chaining: when an Imbrace run succeeds, a Prefect deployment runs the next step.

    uv run python flows/event_chaining.py

Waiting on an Imbrace run (here `start_upstream`) emits `imbrace.flow-run.<status>` events, with
the Imbrace flow as a related resource (role `imbrace-flow`). `after_upstream` is deployed with
a `DeploymentEventTrigger` on `imbrace.flow-run.succeeded` for one Imbrace flow: Prefect starts
it with the run id from the event, and it feeds that run's result to the next Imbrace flow.
`flows/prefect.yaml` declares the same trigger. Run as a script, the automation is played by
hand: the event is read back from Prefect, matched against the trigger and its parameters
rendered, so the chain runs without a worker.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from imbrace_demo import (
    build_echo,
    credentials_block_for,
    flow_ids_from,
    imbrace_target,
    load_credentials,
    prefect_api,
)
from prefect import flow
from prefect.client.orchestration import get_client
from prefect.deployments.runner import RunnerDeployment
from prefect.events import DeploymentEventTrigger
from prefect.events.filters import EventFilter, EventNameFilter, EventResourceFilter

from prefect_imbrace.exactly_once.outcome import result_from_run
from prefect_imbrace.tasks import get_run, trigger_flow_and_wait

SUCCEEDED = "imbrace.flow-run.succeeded"


@flow(name="imbrace-start-upstream")
def start_upstream(
    flow_id: str, payload: Any = None, credentials_block: str | None = None
) -> dict[str, Any]:
    """Run the upstream Imbrace flow; its success is what the downstream deployment waits for."""
    result = trigger_flow_and_wait(load_credentials(credentials_block), flow_id, payload)
    return {"run_id": result.run_id, "status": result.status}


@flow(name="imbrace-after-upstream")
def after_upstream(
    run_id: str, next_flow_id: str, credentials_block: str | None = None
) -> dict[str, Any]:
    """Read the succeeded upstream run and hand its result to the next Imbrace flow."""
    credentials = load_credentials(credentials_block)
    upstream = result_from_run(get_run(credentials, run_id))
    result = trigger_flow_and_wait(credentials, next_flow_id, upstream.payload)
    return {"upstream_run": run_id, "run_id": result.run_id, "payload": result.payload}


def success_trigger(
    upstream_flow_id: str, next_flow_id: str, credentials_block: str | None = None
) -> DeploymentEventTrigger:
    """Fire on every succeeded run of `upstream_flow_id`, passing the run id on."""
    return DeploymentEventTrigger(
        name=f"After Imbrace flow {upstream_flow_id} succeeds",
        expect={SUCCEEDED},
        match={"prefect.resource.id": "imbrace.flow-run.*"},
        match_related={
            "prefect.resource.role": "imbrace-flow",
            "prefect.resource.id": f"imbrace.flow.{upstream_flow_id}",
        },
        parameters={
            "run_id": "{{ event.payload.run_id }}",
            "next_flow_id": next_flow_id,
            "credentials_block": credentials_block,
        },
    )


def build_deployment(
    upstream_flow_id: str, next_flow_id: str, credentials_block: str | None = None
) -> RunnerDeployment:
    return after_upstream.to_deployment(
        name="after-imbrace-upstream",
        triggers=[success_trigger(upstream_flow_id, next_flow_id, credentials_block)],
        tags=["imbrace"],
    )


def read_succeeded_event(run_id: str, attempts: int = 50) -> Any:
    """The `imbrace.flow-run.succeeded` event of `run_id` once Prefect has stored it."""
    event_filter = EventFilter(
        event=EventNameFilter(name=[SUCCEEDED]),
        resource=EventResourceFilter(id=[f"imbrace.flow-run.{run_id}"]),
    )
    with get_client(sync_client=True) as client:
        for _ in range(attempts):  # events are written asynchronously: give them a moment
            page = client.read_events(filter=event_filter, limit=5)
            if page.events:
                return page.events[0]
            time.sleep(0.2)
    raise LookupError(f"No {SUCCEEDED} event for Imbrace run {run_id} reached Prefect.")


def trigger_covers(trigger: DeploymentEventTrigger, event: Any) -> bool:
    """Would Prefect's automation fire on `event`? Asked of the server's own trigger model."""
    from prefect.server.events.schemas.automations import EventTrigger
    from prefect.server.events.schemas.events import ReceivedEvent

    spec = trigger.model_dump(mode="json")
    server_trigger = EventTrigger.model_validate(
        {name: spec[name] for name in EventTrigger.model_fields if name in spec and name != "id"}
    )
    return server_trigger.covers(ReceivedEvent.model_validate(event.model_dump(mode="json")))


def render_parameters(trigger: DeploymentEventTrigger, event: Any) -> dict[str, Any]:
    """The flow parameters Prefect's RunDeployment action renders from the trigger and event."""
    from prefect.server.events.actions import RunDeployment
    from prefect.utilities.schema_tools.hydration import HydrationContext, hydrate

    parameters = dict(trigger.parameters or {})
    RunDeployment._upgrade_v1_templates(parameters)
    context = HydrationContext(raise_on_error=True, render_jinja=True, jinja_context={"event": event})
    return hydrate(parameters, context)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--upstream-flow-id", help="real Imbrace (or IMBRACE_UPSTREAM_FLOW_ID)")
    parser.add_argument("--next-flow-id", help="real Imbrace (or IMBRACE_NEXT_FLOW_ID)")
    args = parser.parse_args(argv)
    with prefect_api(), imbrace_target() as target:
        if target.is_local:
            with target.client() as client:
                upstream_id = build_echo(client, "Chaining: upstream")
                next_id = build_echo(client, "Chaining: next")
        else:
            upstream_id, next_id = flow_ids_from(
                [args.upstream_flow_id, args.next_flow_id],
                ["IMBRACE_UPSTREAM_FLOW_ID", "IMBRACE_NEXT_FLOW_ID"],
            )
        block = credentials_block_for(target)
        trigger = build_deployment(upstream_id, next_id, block).triggers[0]
        started = start_upstream(upstream_id, {"order": 42}, block)
        event = read_succeeded_event(started["run_id"])
        print(f"Prefect received {event.event} for Imbrace run {started['run_id']}.")
        if not trigger_covers(trigger, event):
            raise RuntimeError("The deployment trigger does not match the Imbrace event.")
        chained = after_upstream(**render_parameters(trigger, event))
        print(f"The deployment's flow ran Imbrace flow {next_id}: {chained['payload']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
