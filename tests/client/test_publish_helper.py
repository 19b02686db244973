"""`create_webhook_flow` builds flows that really run, over real HTTP to Imbrace Local."""

from __future__ import annotations

import pytest

from prefect_imbrace.client import ImbraceClient, create_webhook_flow
from prefect_imbrace.client import operations as ops
from prefect_imbrace.exceptions import FlowDisabledError, ImbraceConfigurationError


def _client(engine) -> ImbraceClient:
    return ImbraceClient(api_key=engine.api_key, gateway=engine.url)


def _operations_sent(engine, flow_id: str) -> int:
    counts = engine.control.counters()["requests"]
    return counts.get(f"POST /activepieces/v1/flows/{flow_id}", 0)


def test_publish_chains_the_steps_after_a_webhook_trigger_and_enables_it(imbrace_local):
    steps = [
        ops.delay("wait", 0),
        {**ops.return_response("reply", body={"got": "{{trigger.body.n}}"}).to_wire()},
    ]
    with _client(imbrace_local) as client:
        folder = client.workflows.create_folder(display_name="Helpers")
        flow = create_webhook_flow(client, "Chained", steps, folder_id=folder.id)
        stored = client.workflows.get_flow(flow_id=flow.id)
        reply = client.workflows.trigger_flow_sync(flow_id=flow.id, payload={"n": 3})

    assert flow.is_enabled and flow.published_version_id and flow.folder_id == folder.id
    assert stored.display_name == "Chained"
    assert stored.version.trigger.settings.trigger_name == "catch_webhook"
    assert [step.name for step in stored.version.steps()] == ["trigger", "wait", "reply"]
    assert reply.body == {"got": 3}
    # update_trigger, one add_action per step, lock_and_publish: nothing more.
    assert _operations_sent(imbrace_local, flow.id) == 4


def test_a_draft_is_not_published_and_takes_more_operations(imbrace_local):
    with _client(imbrace_local) as client:
        flow = create_webhook_flow(client, "Draft", [ops.delay("wait", 0)], publish=False)
        with pytest.raises(FlowDisabledError):
            client.workflows.trigger_flow_sync(flow_id=flow.id, payload={})
        reply = ops.return_response("reply", body={"ok": True})
        client.workflows.apply_flow_operation(flow_id=flow.id, operation=ops.add_action("wait", reply))
        client.workflows.apply_flow_operation(flow_id=flow.id, operation=ops.lock_and_publish())
        answer = client.workflows.trigger_flow_sync(flow_id=flow.id, payload={})

    assert flow.published_version_id is None and not flow.is_enabled
    assert answer.body == {"ok": True}


def test_the_given_trigger_replaces_the_plain_webhook(imbrace_local):
    guard = ops.catch_webhook(
        auth_type="header", auth_fields={"headerName": "x-guard", "headerValue": "letmein"}
    )
    with _client(imbrace_local) as client:
        reply = ops.return_response("reply", body={"ok": True})
        flow = create_webhook_flow(client, "Guarded", [reply], trigger=guard)
        answer = client.workflows.trigger_flow_sync(flow_id=flow.id, payload={}, headers={"x-guard": "letmein"})
        client.workflows.trigger_flow(flow_id=flow.id, payload={})  # no header: answered, but filtered out
        runs = client.workflows.list_runs(flow_id=flow.id).data

    assert flow.version.trigger.settings.input["authType"] == "header"
    assert answer.body == {"ok": True}
    assert len(runs) == 1


@pytest.mark.parametrize(
    ("actions", "message"),
    [
        (ops.return_response("reply"), "actions must be a list of steps"),
        ("reply", "actions must be a list of steps"),
        ([{"type": "CODE"}], "Each action needs a `name`"),
        ([42], "A step must be a step model"),
    ],
)
def test_bad_actions_are_refused_before_anything_is_created(imbrace_local, actions, message):
    with _client(imbrace_local) as client:
        with pytest.raises(ImbraceConfigurationError, match=message):
            create_webhook_flow(client, "Never", actions)
        assert client.workflows.list_flows().data == []
