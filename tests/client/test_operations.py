"""Operation builders produce exactly the engine's `{type, request}` wire shapes."""

from __future__ import annotations

import pytest

from prefect_imbrace.client import operations as ops
from prefect_imbrace.exceptions import ImbraceConfigurationError


def test_all_twenty_operations_have_a_builder():
    built = [
        ops.change_status("ENABLED"),
        ops.lock_and_publish(),
        ops.lock_flow(),
        ops.use_as_draft("v" * 21),
        ops.change_name("n"),
        ops.change_folder(None),
        ops.update_metadata({"a": 1}),
        ops.import_flow("n", ops.catch_webhook()),
        ops.update_trigger(ops.catch_webhook()),
        ops.add_action("trigger", ops.return_response()),
        ops.update_action(ops.return_response()),
        ops.delete_action("step_1"),
        ops.duplicate_action("step_1"),
        ops.move_action("step_2", "trigger"),
        ops.set_skip_action(["step_1"]),
        ops.add_branch("step_1", 1, "b"),
        ops.delete_branch("step_1", 0),
        ops.duplicate_branch("step_1", 0),
        ops.move_branch("step_1", 0, 1),
        ops.save_sample_data("trigger", {"a": 1}),
    ]
    assert {op.type for op in built} == set(ops.FLOW_OPERATION_TYPES)
    assert len(ops.FLOW_OPERATION_TYPES) == 20


def test_transcript_shapes():
    assert ops.update_trigger(ops.catch_webhook()).to_wire() == {
        "type": "UPDATE_TRIGGER",
        "request": {
            "name": "trigger",
            "type": "PIECE_TRIGGER",
            "valid": True,
            "displayName": "Catch Webhook",
            "settings": {
                "pieceName": "@activepieces/piece-webhook",
                "pieceVersion": "~0.1.25",
                "triggerName": "catch_webhook",
                "input": {"authType": "none"},
                "propertySettings": {},
            },
        },
    }
    add = ops.add_action(
        "trigger",
        ops.return_response(
            "step_1", status=201, headers={"x-demo": "yes"}, body={"n": "{{trigger.body.n}}"}
        ),
    ).to_wire()
    assert add["type"] == "ADD_ACTION"
    action = add["request"]["action"]
    assert add["request"]["parentStep"] == "trigger"
    assert action["settings"]["actionName"] == "return_response"
    assert action["settings"]["input"] == {
        "responseType": "json",
        "respond": "stop",
        "fields": {
            "status": 201,
            "headers": {"x-demo": "yes"},
            "body": {"n": "{{trigger.body.n}}"},
        },
    }
    assert action["settings"]["errorHandlingOptions"] == {
        "continueOnFailure": {"value": False},
        "retryOnFailure": {"value": False},
    }
    assert "nextAction" not in action
    assert ops.lock_and_publish().to_wire() == {"type": "LOCK_AND_PUBLISH", "request": {}}
    assert ops.change_status("DISABLED").to_wire() == {
        "type": "CHANGE_STATUS",
        "request": {"status": "DISABLED"},
    }


def test_change_folder_keeps_null():
    assert ops.change_folder(None).to_wire() == {
        "type": "CHANGE_FOLDER",
        "request": {"folderId": None},
    }


def test_branch_and_loop_locations():
    router = ops.router(
        "step_2",
        [
            ops.branch("big", ops.condition("{{trigger.body.n}}", "NUMBER_IS_GREATER_THAN", 5)),
            ops.fallback_branch(),
        ],
    )
    wire = ops.add_action("step_1", router).to_wire()["request"]["action"]
    assert wire["children"] == [None, None]
    assert wire["settings"]["branches"][0]["conditions"] == [
        [
            {
                "firstValue": "{{trigger.body.n}}",
                "secondValue": 5,
                "operator": "NUMBER_IS_GREATER_THAN",
            }
        ]
    ]
    inside = ops.add_action("step_2", ops.delay("step_3", 1), branch_index=0).to_wire()["request"]
    assert inside["stepLocationRelativeToParent"] == "INSIDE_BRANCH" and inside["branchIndex"] == 0
    looped = ops.add_action(
        "loop", ops.code("c", "export const code = async () => 1"), location="INSIDE_LOOP"
    ).to_wire()
    assert looped["request"]["stepLocationRelativeToParent"] == "INSIDE_LOOP"
    assert ops.loop("loop", "{{trigger.body.items}}").to_wire()["settings"] == {
        "items": "{{trigger.body.items}}"
    }


def test_dicts_are_accepted_as_steps_and_bodies():
    raw = {
        "name": "step_1",
        "type": "CODE",
        "valid": True,
        "displayName": "C",
        "settings": {"sourceCode": {"code": "x", "packageJson": "{}"}, "input": {}},
    }
    assert ops.add_action("trigger", raw).request["action"] == raw
    assert ops.as_operation({"type": "LOCK_FLOW", "request": {}}) == {
        "type": "LOCK_FLOW",
        "request": {},
    }


@pytest.mark.parametrize("bad", [{"request": {}}, "LOCK_FLOW", 3])
def test_bad_operation_bodies(bad):
    with pytest.raises(ImbraceConfigurationError, match="ops.lock_and_publish"):
        ops.as_operation(bad)


def test_bad_step_and_status():
    with pytest.raises(ImbraceConfigurationError):
        ops.add_action("trigger", 42)  # type: ignore[arg-type]
    with pytest.raises(ImbraceConfigurationError, match="ENABLED"):
        ops.change_status("ON")  # type: ignore[arg-type]


def test_http_and_delay_steps():
    http = ops.http_request("step_1", "post", "http://127.0.0.1:1/x", json_body={"a": 1}).to_wire()[
        "settings"
    ]
    assert (http["pieceName"], http["actionName"]) == ("@activepieces/piece-http", "send_request")
    assert http["input"]["method"] == "POST" and http["input"]["body"] == {"data": {"a": 1}}
    delay = ops.delay("step_2", 90, unit="seconds").to_wire()["settings"]
    assert delay["actionName"] == "delayFor" and delay["input"] == {
        "unit": "seconds",
        "delayFor": 90,
    }
