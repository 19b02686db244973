"""Every step builder makes a step the engine marks valid; Local says invalid only where it would.

The rules are the 0.72.4 engine's (piece metadata of the pieces Local executes, router
condition schema), checked over real HTTP on Imbrace Local.
"""

from __future__ import annotations

import pytest

from prefect_imbrace.client import operations as ops


def _publish(client, name: str, *actions, inside: dict | None = None) -> dict:
    """A webhook flow with `actions` after the trigger; returns the published version."""
    flow = client.workflows.create_flow(display_name=name)
    client.workflows.apply_flow_operation(flow_id=flow.id, operation=ops.update_trigger(ops.catch_webhook()))
    parent = "trigger"
    for action in actions:
        client.workflows.apply_flow_operation(
            flow_id=flow.id, operation=ops.add_action(parent, action, location="AFTER"))
        parent = action.name
    for parent_step, action, where in (inside or {}).get("steps", []):
        client.workflows.apply_flow_operation(
            flow_id=flow.id, operation=ops.add_action(parent_step, action, **where))
    client.workflows.apply_flow_operation(flow_id=flow.id, operation=ops.lock_and_publish())
    return client.workflows.get_flow(flow_id=flow.id).model_dump(by_alias=True)["version"]


def test_a_flow_built_with_every_step_builder_publishes_valid(fresh, client):
    steps = [
        ops.http_request("step_1", "post", "http://127.0.0.1:1/x", json_body={"a": 1}, timeout=5),
        ops.http_request("step_2", "GET", "http://127.0.0.1:1/y", headers={"x": "1"}, failsafe=True),
        ops.delay("step_3", 1),
        ops.piece_action("step_4", "@activepieces/piece-data-mapper", "~0.3.14", "advanced_mapping",
                         {"mapping": {"n": "{{trigger.body.n}}"}}),
        ops.loop("loop_1", "{{trigger.body.items}}"),
        ops.router("router_1", [
            ops.branch("big", ops.condition("{{trigger.body.n}}", "NUMBER_IS_GREATER_THAN", 5)),
            ops.branch("named", ops.condition("{{trigger.body.name}}", "TEXT_CONTAINS", "a",
                                              case_sensitive=True),
                       [ops.condition("{{trigger.body.tags}}", "LIST_IS_NOT_EMPTY")]),
            ops.fallback_branch(),
        ]),
        ops.code("step_5", "export const code = async (inputs) => inputs"),
        ops.respond_and_wait("step_10", body={"asked": "{{trigger.body}}"}),
        ops.return_response("step_6", body={"ok": True}, status=201, headers={"x": "y"}),
    ]
    inside = {"steps": [
        ("loop_1", ops.return_response("step_7", body="{{loop_1.item}}", respond="respond"),
         {"location": "INSIDE_LOOP"}),
        ("router_1", ops.return_response("step_8", response_type="raw", body="text"), {"branch_index": 0}),
        ("router_1", ops.return_response("step_9", response_type="redirect", body="https://x.example"),
         {"branch_index": 1}),
    ]}
    version = _publish(client, "every builder", *steps, inside=inside)
    assert version["valid"] is True

    def invalid_steps(step):
        found = [] if step.get("valid") else [step["name"]]
        for child in [step.get("nextAction"), step.get("firstLoopAction"), *(step.get("children") or [])]:
            if child:
                found += invalid_steps(child)
        return found

    assert invalid_steps(version["trigger"]) == []


@pytest.mark.parametrize(
    "step",
    [
        # piece-http 0.9.5 requires authType: a step without it is invalid (it still runs)
        ops.piece_action("step_1", "@activepieces/piece-http", "~0.9.5", "send_request",
                         {"method": "GET", "url": "http://127.0.0.1:1/", "headers": {}, "queryParams": {}}),
        # a text condition needs both values
        ops.router("step_1", [ops.branch("b", ops.condition("{{trigger.body.x}}", "TEXT_CONTAINS"))]),
        # an empty value is not a value
        ops.router("step_1", [ops.branch("b", ops.condition("", "EXISTS"))]),
        ops.loop("step_1", ""),
        # no unit: a default is not a value
        ops.piece_action("step_1", "@activepieces/piece-delay", "~0.3.21", "delayFor", {"delayFor": 1}),
    ],
    ids=["http-without-authType", "text-condition-without-value", "empty-value", "empty-loop", "delay-without-unit"],
)
def test_a_step_the_engine_refuses_is_invalid(fresh, client, step):
    assert _publish(client, "invalid", step)["valid"] is False
