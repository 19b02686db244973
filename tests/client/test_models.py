"""Models parse the engine's real shapes (transcript) and tolerate the unknown."""

from __future__ import annotations

from datetime import timedelta

import pytest

from prefect_imbrace.client.models import (
    AppConnection,
    Flow,
    FlowRun,
    Folder,
    McpServer,
    PieceAction,
    PieceTrigger,
    RouterAction,
    RunCategory,
    SeekPage,
    UnknownAction,
    UnknownTrigger,
    UpsertConnectionRequest,
)
from prefect_imbrace.client.models.runs import error_text

RUN = {
    "id": "Y2NTpfxPCtxEhGy4A8GFf",
    "created": "2026-11-28T10:12:07.678Z",
    "updated": "2026-11-28T10:12:08.049Z",
    "projectId": "dLNES4ykwukdZKM90l2tt",
    "flowId": "ZurYxBCHMoYIzudlATavb",
    "failParentOnFailure": False,
    "flowVersionId": "UnJN7jmCZ7126co3lXlox",
    "status": "SUCCEEDED",
    "environment": "PRODUCTION",
    "parentRunId": "",
    "tags": [],
    "flowVersion": {"displayName": "demo flow"},
    "logsFileId": "B4HH8uimX63lEogbmqyKc",
    "startTime": "2026-11-28T10:12:07.673Z",
    "finishTime": "2026-11-28T10:12:08.043Z",
    "steps": {
        "trigger": {
            "type": "PIECE_TRIGGER",
            "status": "SUCCEEDED",
            "output": {
                "method": "POST",
                "headers": {"Content-Type": "application/json", "X-Prefect-Imbrace-Key": "k1"},
                "body": {"n": 5},
                "queryParams": {},
            },
        },
        "step_1": {
            "type": "PIECE",
            "status": "SUCCEEDED",
            "input": {},
            "output": {"status": 201, "body": {"n": 5}},
            "duration": 200.0,
        },
    },
    "failedStep": {},
    "stepNameToTest": "",
    "archivedAt": None,
}


def test_run_from_transcript():
    run = FlowRun.model_validate(RUN)
    assert run.failed_step is None and run.failed_step_name is None and run.error_message is None
    assert run.category is RunCategory.SUCCEEDED and run.is_terminal
    assert run.duration == timedelta(milliseconds=370)
    assert run.trigger_headers["x-prefect-imbrace-key"] == "k1"
    assert run.step_outputs["step_1"] == {"status": 201, "body": {"n": 5}}
    assert (
        run.model_dump(by_alias=True, exclude_none=True)["flowVersionId"] == "UnJN7jmCZ7126co3lXlox"
    )


def test_unknown_and_rare_statuses():
    for status, category, terminal in [
        ("QUEUED", RunCategory.QUEUED, False),
        ("RUNNING", RunCategory.RUNNING, False),
        ("PAUSED", RunCategory.PAUSED, False),
        ("TIMEOUT", RunCategory.FAILED, True),
        ("INTERNAL_ERROR", RunCategory.FAILED, True),
        ("QUOTA_EXCEEDED", RunCategory.FAILED, True),
        ("MEMORY_LIMIT_EXCEEDED", RunCategory.FAILED, True),
        ("CANCELED", RunCategory.CANCELLED, True),
        ("STOPPED", RunCategory.SUCCEEDED, True),
        ("BRAND_NEW", RunCategory.UNKNOWN, False),
    ]:
        run = FlowRun.model_validate({"id": "r", "status": status})
        assert run.status == status
        assert (run.category, run.is_terminal) == (category, terminal)
    finished = FlowRun.model_validate(
        {"id": "r", "status": "BRAND_NEW", "finishTime": "2026-11-28T10:12:08.043Z"}
    )
    assert finished.is_terminal


def test_failed_run_error_text():
    run = FlowRun.model_validate(
        {
            "id": "r",
            "status": "FAILED",
            "failedStep": {"name": "step_2", "displayName": "Compute"},
            "steps": {"step_2": {"status": "FAILED", "errorMessage": {"message": "boom"}}},
        }
    )
    assert (run.failed_step_name, run.error_message) == ("step_2", "boom")
    as_text = FlowRun.model_validate(
        {
            "id": "r",
            "status": "FAILED",
            "steps": {"s": {"status": "FAILED", "errorMessage": "plain"}},
        }
    )
    assert (as_text.failed_step_name, as_text.error_message) == ("s", "plain")
    as_json = FlowRun.model_validate(
        {
            "id": "r",
            "status": "FAILED",
            "failedStep": {"name": "s"},
            "steps": {"s": {"status": "FAILED", "errorMessage": {"code": 1}}},
        }
    )
    assert as_json.error_message == '{"code": 1}'


@pytest.mark.parametrize(
    ("stored", "readable"),
    [
        # what a 0.72.4 engine stored for an HTTP step to a closed port
        ('{\n  "response": {\n    "status": 500\n  },\n  "request": {}\n}', "HTTP 500"),
        ('{\n  "response": {\n    "status": 422,\n    "body": {"error": "nope"}\n  },\n  "request": {}\n}',
         "HTTP 422: nope"),
        ('{"response":{"status":404,"body":" Not  found "},"request":{"body":{"a":1}}}', "HTTP 404: Not found"),
        ('{"message":"The items you have selected must be a list."}',
         "The items you have selected must be a list."),
        ("Error: boom\n    at Object.<anonymous> (/app/x.js:1:7)\n    at node:internal", "Error: boom"),
        ('{\n  "url": [\n    "Expected string"\n  ]\n}', '{"url": ["Expected string"]}'),
        # the older object form, with a message that is itself JSON text
        ({"message": "Send HTTP request: ConnectError: refused"}, "Send HTTP request: ConnectError: refused"),
        ({"message": '{"response":{"status":401},"request":{}}'}, "HTTP 401"),
        ("", None),
        ({}, None),
    ],
)
def test_error_text_reads_every_form_of_error_message(stored, readable):
    assert error_text(stored) == readable
    run = FlowRun.model_validate({"id": "r", "status": "FAILED", "failedStep": {"name": "s"},
                                  "steps": {"s": {"status": "FAILED", "errorMessage": stored}}})
    assert run.error_message == readable


def test_a_succeeded_run_names_no_failed_step():
    """After a successful FROM_FAILED_STEP retry the engine keeps `failedStep`."""
    run = FlowRun.model_validate({"id": "r", "status": "SUCCEEDED", "failedStep": {"name": "step_1"},
                                  "steps": {"step_1": {"status": "SUCCEEDED", "output": {}}}})
    assert run.failed_step is not None and run.failed_step.name == "step_1"
    assert run.failed_step_name is None and run.error_message is None


def test_flow_tree_with_unknown_types_and_extra_fields():
    flow = Flow.model_validate(
        {
            "id": "ZurYxBCHMoYIzudlATavb",
            "status": "ENABLED",
            "brandNewField": 1,
            "version": {
                "displayName": "demo",
                "state": "LOCKED",
                "trigger": {
                    "name": "trigger",
                    "type": "PIECE_TRIGGER",
                    "settings": {
                        "pieceName": "@activepieces/piece-webhook",
                        "pieceVersion": "0.1.25",
                        "triggerName": "catch_webhook",
                        "input": {"authType": "none"},
                    },
                    "nextAction": {
                        "name": "step_1",
                        "type": "ROUTER",
                        "settings": {
                            "executionType": "EXECUTE_FIRST_MATCH",
                            "branches": [
                                {
                                    "branchName": "a",
                                    "branchType": "CONDITION",
                                    "conditions": [[{"firstValue": "1", "operator": "EXISTS"}]],
                                },
                                {"branchName": "b", "branchType": "FALLBACK"},
                            ],
                        },
                        "children": [
                            {
                                "name": "step_2",
                                "type": "PIECE",
                                "settings": {
                                    "pieceName": "p",
                                    "pieceVersion": "1.0.0",
                                    "actionName": "a",
                                },
                            },
                            None,
                        ],
                        "nextAction": {"name": "step_3", "type": "BRANCH", "settings": {"x": 1}},
                    },
                },
            },
        }
    )
    assert flow.brandNewField == 1
    assert flow.display_name == "demo" and flow.is_enabled
    trigger = flow.version.trigger
    assert isinstance(trigger, PieceTrigger)
    assert isinstance(trigger.next_action, RouterAction)
    assert [s.name for s in flow.version.steps()] == ["trigger", "step_1", "step_2", "step_3"]
    assert isinstance(flow.version.step("step_2"), PieceAction)
    assert isinstance(flow.version.step("step_3"), UnknownAction)
    odd = Flow.model_validate(
        {"id": "x", "version": {"trigger": {"name": "trigger", "type": "WEBHOOK", "settings": {}}}}
    )
    assert isinstance(odd.version.trigger, UnknownTrigger)


def test_folder_count_as_string_and_page():
    page = SeekPage[Folder].model_validate(
        {
            "next": None,
            "previous": None,
            "data": [{"id": "i10Lz27BCXVepsZsWUTBh", "displayName": "F", "numberOfFlows": "0"}],
        }
    )
    assert page.data[0].number_of_flows == 0 and not page.has_more


def test_secrets_hidden_in_models():
    conn = AppConnection.model_validate(
        {"id": "c", "value": {"type": "SECRET_TEXT", "secret_text": "s3cr3t-value"}}
    )
    assert "s3cr3t" not in repr(conn) and "s3cr3t" not in str(conn.model_dump(mode="json"))
    assert conn.value.get_secret_value()["secret_text"] == "s3cr3t-value"
    mcp = McpServer.model_validate({"id": "m", "token": "P3usFixQ6EngJAm6A80NH", "tools": []})
    assert "P3usFix" not in repr(mcp)
    assert mcp.token.get_secret_value() == "P3usFixQ6EngJAm6A80NH"
    request = UpsertConnectionRequest(
        external_id="e", display_name="d", piece_name="p", value={"secret_text": "hush-123"}
    )
    assert "hush-123" not in repr(request)
    assert request.to_wire()["value"] == {"type": "SECRET_TEXT", "secret_text": "hush-123"}


def test_answers_read_like_the_official_sdks_dicts():
    page = SeekPage[Flow].model_validate(
        {"data": [{"id": "F" * 21, "projectId": "P" * 21, "status": "ENABLED", "folderId": None,
                   "version": {"id": "V" * 21, "displayName": "Leads"}, "futureField": 1}],
         "next": None}
    )
    flow = page.get("data", [])[0]
    assert flow["id"] == flow.id and flow["projectId"] == flow["project_id"] == "P" * 21
    assert flow.get("version", {}).get("displayName") == "Leads"
    assert flow["futureField"] == 1  # unknown fields are kept and readable
    assert flow.get("folderId", "none") == "none"  # null reads as missing, like an absent key
    assert page.get("next") is None and page.get("previous", "first") == "first"
    with pytest.raises(KeyError):
        flow["folderId"]
    with pytest.raises(KeyError):
        flow["no_such_field"]
