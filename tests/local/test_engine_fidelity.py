"""Imbrace Local answers as a real Activepieces 0.72.4 engine did (issue 24), over real HTTP.

Each test is one row of the comparison against the engine: what the engine showed is asserted,
not what Imbrace Local used to do.
"""

from __future__ import annotations

import json
import socket
import threading
from datetime import datetime, timedelta, timezone

from prefect_imbrace.local import ImbraceLocal

from .conftest import Api, piece_action, return_response

DELAY = "@activepieces/piece-delay"
HTTP = "@activepieces/piece-http"
MAPPER = "@activepieces/piece-data-mapper"
CONTINUE = {"errorHandlingOptions": {"continueOnFailure": {"value": True}, "retryOnFailure": {"value": False}}}


def mapper(name: str, mapping: object) -> dict:
    return piece_action(name, MAPPER, "advanced_mapping", {"mapping": mapping}, version="~0.3.14")


def http_call(name: str, url: str, **extra: object) -> dict:
    step = piece_action(name, HTTP, "send_request", {
        "method": "GET", "url": url, "headers": {}, "queryParams": {}, "authType": "NONE",
        "body_type": "none"}, version="~0.9.5")
    step["settings"].update(extra)
    return step


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_template_that_is_only_a_missing_value_is_the_empty_string(api: Api) -> None:
    failing = http_call("step_1", f"http://127.0.0.1:{closed_port()}/", **CONTINUE)
    body = {"absent": "{{trigger.body.missing}}", "null": "{{trigger.body.none}}",
            "failed": "{{step_1}}", "text": "[{{trigger.body.missing}}]", "n": "{{trigger.body.n}}"}
    flow_id = api.flow(actions=[failing, mapper("step_2", body), return_response("step_3", body=body)])
    reply = api.post(f"/webhooks/{flow_id}/sync", json={"n": 1, "none": None})
    expected = {"absent": "", "null": "", "failed": "", "text": "[]", "n": 1}
    assert reply.status_code == 200 and reply.json() == expected
    run = api.wait_run(api.runs_of(flow_id)[0]["id"])
    assert run["steps"]["step_2"]["output"] == expected  # the data mapper too


def test_a_branch_that_did_not_run_reads_as_the_empty_string(api: Api) -> None:
    never = {"branchName": "never", "branchType": "CONDITION", "conditions": [[
        {"firstValue": "{{trigger.body.n}}", "operator": "NUMBER_IS_GREATER_THAN", "secondValue": "100"}]]}
    router = {"name": "router_1", "type": "ROUTER", "valid": True, "displayName": "Router",
              "settings": {"executionType": "EXECUTE_FIRST_MATCH",
                           "branches": [never, {"branchName": "Otherwise", "branchType": "FALLBACK"}]},
              "children": [None, None]}
    flow_id = api.flow(actions=[router], publish=False)
    assert api.op(flow_id, "ADD_ACTION", {"parentStep": "router_1", "stepLocationRelativeToParent": "INSIDE_BRANCH",
                                          "branchIndex": 0, "action": mapper("step_2", {"x": 1})}).status_code == 200
    assert api.op(flow_id, "ADD_ACTION", {"parentStep": "router_1", "stepLocationRelativeToParent": "AFTER",
                                          "action": return_response(
        "step_3", body={"skipped": "{{step_2}}", "deep": "{{step_2.x}}"})}).status_code == 200
    assert api.op(flow_id, "LOCK_AND_PUBLISH", {}).status_code == 200
    reply = api.post(f"/webhooks/{flow_id}/sync", json={"n": 1})
    assert reply.json() == {"skipped": "", "deep": ""}


def test_a_loop_over_an_empty_list_has_no_item(api: Api) -> None:
    loop = {"name": "loop_1", "type": "LOOP_ON_ITEMS", "valid": True, "displayName": "Loop",
            "settings": {"items": "{{trigger.body.items}}"}}
    flow_id = api.flow(actions=[loop])
    api.post(f"/webhooks/{flow_id}", json={"items": []})
    run = api.wait_run(api.runs_of(flow_id)[0]["id"])
    assert run["status"] == "SUCCEEDED"
    assert run["steps"]["loop_1"]["output"] == {"index": 0, "iterations": []}


def test_a_failed_steps_error_message_is_the_engines_string(api: Api) -> None:
    flow_id = api.flow(actions=[http_call("step_1", f"http://127.0.0.1:{closed_port()}/")])
    api.post(f"/webhooks/{flow_id}", json={})
    run = api.wait_run(api.runs_of(flow_id)[0]["id"])
    assert run["status"] == "FAILED" and run["failedStep"]["name"] == "step_1"
    # exactly what the engine stored for an HTTP step to a closed port
    assert run["steps"]["step_1"]["errorMessage"] == '{\n  "response": {\n    "status": 500\n  },\n  "request": {}\n}'
    bad_delay = piece_action("step_1", DELAY, "delayFor", {"unit": "fortnights", "delayFor": 1})
    other = api.flow("other", actions=[bad_delay])
    api.post(f"/webhooks/{other}", json={})
    message = api.wait_run(api.runs_of(other)[0]["id"])["steps"]["step_1"]["errorMessage"]
    assert isinstance(message, str) and message.startswith("Error: Delay For: unit must be")  # Node's inspection


def test_retry_from_the_failed_step_keeps_failed_step(engine: ImbraceLocal, api: Api) -> None:
    flags = http_call("step_1", engine.engine_url + "/v1/flags")
    flags["settings"]["input"]["headers"] = {"x-api-key": engine.api_key}
    flow_id = api.flow(actions=[flags, return_response("step_2")])
    engine.control.add_fault(r"/v1/flags$", status=500, times=1)
    api.post(f"/webhooks/{flow_id}", json={})
    failed = api.wait_run(api.runs_of(flow_id)[0]["id"])
    assert failed["status"] == "FAILED"
    api.post(f"/flow-runs/{failed['id']}/retry", json={"strategy": "FROM_FAILED_STEP"})
    done = api.wait_run(failed["id"], statuses=("SUCCEEDED", "FAILED"))
    assert done["status"] == "SUCCEEDED" and done["failedStep"] == {"name": "step_1", "displayName": "send_request"}


def test_validity_follows_the_pieces_required_inputs(api: Api) -> None:
    """piece-http 0.9.5 requires authType: without it the version is invalid, yet it runs."""
    without = http_call("step_1", "http://127.0.0.1:1/")
    del without["settings"]["input"]["authType"]
    flow_id = api.flow(actions=[without], publish=False)
    version = api.get(f"/flows/{flow_id}").json()["version"]
    assert version["valid"] is False and version["trigger"]["nextAction"]["valid"] is False
    assert api.op(flow_id, "LOCK_AND_PUBLISH", {}).status_code == 200
    api.post(f"/webhooks/{flow_id}", json={})
    assert api.wait_run(api.runs_of(flow_id)[0]["id"])["status"] == "FAILED"  # executed, the port is closed
    with_auth = api.flow("with", actions=[http_call("step_1", "http://127.0.0.1:1/")], publish=False)
    assert api.get(f"/flows/{with_auth}").json()["version"]["valid"] is True
    no_unit = api.flow("delay", actions=[piece_action("step_1", DELAY, "delayFor", {"delayFor": 1})], publish=False)
    assert api.get(f"/flows/{no_unit}").json()["version"]["valid"] is False  # a default is not a value


def test_delay_for_pauses_above_ten_seconds_delay_until_above_a_minute(api: Api) -> None:
    flow_id = api.flow(actions=[piece_action("step_1", DELAY, "delayFor", {"unit": "seconds", "delayFor": 15})])
    api.post(f"/webhooks/{flow_id}", json={})
    paused = api.wait_run(api.runs_of(flow_id)[0]["id"])
    assert paused["status"] == "PAUSED" and paused["steps"]["step_1"]["status"] == "PAUSED"
    assert "finishTime" not in paused
    soon = (datetime.now(timezone.utc) + timedelta(seconds=50)).isoformat()
    until = api.flow("until", actions=[piece_action("step_1", DELAY, "delay_until", {"delayUntilTimestamp": soon})])
    api.post(f"/webhooks/{until}", json={})
    # 50 s ahead is under a minute: the step sleeps inside the run, which stays RUNNING meanwhile
    waiting = api.wait_run(api.runs_of(until)[0]["id"], statuses=("RUNNING",))
    assert api.wait_run(waiting["id"], statuses=("PAUSED",), limit_s=1.0)["status"] == "RUNNING"
    later = (datetime.now(timezone.utc) + timedelta(seconds=70)).isoformat()
    far = api.flow("far", actions=[piece_action("step_1", DELAY, "delay_until", {"delayUntilTimestamp": later})])
    api.post(f"/webhooks/{far}", json={})
    assert api.wait_run(api.runs_of(far)[0]["id"])["status"] == "PAUSED"


def test_a_run_cancelled_while_paused_has_no_finish_time(api: Api) -> None:
    flow_id = api.flow(actions=[piece_action("step_1", DELAY, "delayFor", {"unit": "minutes", "delayFor": 5})])
    api.post(f"/webhooks/{flow_id}", json={})
    paused = api.wait_run(api.runs_of(flow_id)[0]["id"])
    assert paused["status"] == "PAUSED"
    assert api.post("/flow-runs/cancel", json={"flowRunIds": [paused["id"]]}).status_code == 200
    cancelled = api.get(f"/flow-runs/{paused['id']}").json()
    assert cancelled["status"] == "CANCELED" and "finishTime" not in cancelled


def test_router_conditions_in_loop_iterations_echo_no_defaults(api: Api) -> None:
    def cond(operator: str, second: str | None = "2") -> dict:
        condition = {"firstValue": "{{loop_1.item}}", "operator": operator, "caseSensitive": False}
        return condition if second is None else {**condition, "secondValue": second}

    branches = [{"branchName": "big", "branchType": "CONDITION", "conditions": [[cond("NUMBER_IS_GREATER_THAN")]]},
                {"branchName": "set", "branchType": "CONDITION", "conditions": [[cond("EXISTS", None)]]},
                {"branchName": "two", "branchType": "CONDITION", "conditions": [[cond("TEXT_CONTAINS")]]}]
    router = {"name": "router_1", "type": "ROUTER", "valid": True, "displayName": "Router",
              "settings": {"executionType": "EXECUTE_ALL_MATCH", "branches": branches}, "children": [None] * 3}
    loop = {"name": "loop_1", "type": "LOOP_ON_ITEMS", "valid": True, "displayName": "Loop",
            "settings": {"items": "{{trigger.body.items}}"}}
    flow_id = api.flow(actions=[loop], publish=False)
    assert api.op(flow_id, "ADD_ACTION", {"parentStep": "loop_1", "stepLocationRelativeToParent": "INSIDE_LOOP",
                                          "action": router}).status_code == 200
    assert api.op(flow_id, "LOCK_AND_PUBLISH", {}).status_code == 200
    api.post(f"/webhooks/{flow_id}", json={"items": [1, 3]})
    run = api.wait_run(api.runs_of(flow_id)[0]["id"])
    conditions = [b["conditions"][0][0] for b in run["steps"]["loop_1"]["output"]["iterations"][1]["router_1"]["input"]["branches"]]
    assert conditions == [
        {"firstValue": 3, "operator": "NUMBER_IS_GREATER_THAN", "secondValue": "2"},
        {"firstValue": 3, "operator": "EXISTS"},
        {"firstValue": 3, "operator": "TEXT_CONTAINS", "caseSensitive": False, "secondValue": "2"},  # text keeps it
    ]


def test_respond_and_wait_for_next_webhook_end_to_end(api: Api) -> None:
    wait = piece_action("step_1", "@activepieces/piece-webhook", "return_response_and_wait_for_next_webhook", {
        "responseType": "json", "fields": {"status": 200, "headers": {"x-step": "one"},
                                           "body": {"asked": "{{trigger.body.invoice}}"}}}, version="~0.1.25")
    done = return_response("step_2", body={"approved": "{{step_1.body.approved}}", "by": "{{step_1.queryParams.who}}"})
    flow_id = api.flow(actions=[wait, done])
    assert api.get(f"/flows/{flow_id}").json()["version"]["valid"] is True

    first = api.post(f"/webhooks/{flow_id}/sync", json={"invoice": "INV-1"})
    assert first.status_code == 200 and first.json() == {"asked": "INV-1"}
    assert first.headers["x-step"] == "one"
    resume_url = first.headers["x-activepieces-resume-webhook-url"]
    run = api.wait_run(api.runs_of(flow_id)[0]["id"])
    assert run["status"] == "PAUSED" and "finishTime" not in run
    assert run["steps"]["step_1"]["status"] == "PAUSED"
    assert run["steps"]["step_1"]["output"] == {"nextWebhookUrl": resume_url}
    assert f"/flow-runs/{run['id']}/requests/" in resume_url and resume_url.split("?")[0].endswith("/sync")

    request_id = resume_url.split("/requests/")[1].split("/")[0]
    wrong = api.post(f"/flow-runs/{run['id']}/requests/not-{request_id}/sync", json={})
    assert (wrong.status_code, wrong.json()) == (404, {})
    resumed = api.http.post(resume_url, json={"approved": True}, params={"who": "ann"})
    assert resumed.status_code == 200 and resumed.json() == {"approved": True, "by": "ann"}
    ended = api.wait_run(run["id"], statuses=("SUCCEEDED", "FAILED"))
    assert ended["status"] == "SUCCEEDED"
    output = ended["steps"]["step_1"]["output"]
    assert output["body"] == {"approved": True} and output["queryParams"]["who"] == "ann"
    assert output["headers"]["content-type"] == "application/json"
    again = api.http.post(resume_url, json={"approved": False})
    assert (again.status_code, again.json()) == (409, {"message": "Flow run is not paused", "flowRunStatus": "SUCCEEDED"})


def test_the_plain_resume_route_resumes_and_acknowledges(api: Api) -> None:
    wait = piece_action("step_1", "@activepieces/piece-webhook", "return_response_and_wait_for_next_webhook", {
        "fields": {"body": {"waiting": True}}}, version="~0.1.25")
    flow_id = api.flow(actions=[wait, mapper("step_2", {"got": "{{step_1.body.ok}}"})])
    api.post(f"/webhooks/{flow_id}", json={})  # async: nobody receives the first reply
    run = api.wait_run(api.runs_of(flow_id)[0]["id"])
    url = run["steps"]["step_1"]["output"]["nextWebhookUrl"].split("?")[0].removesuffix("/sync")
    ack = api.http.post(url, json={"ok": "yes"})
    assert ack.json() == {"message": "Your response has been recorded. You can close this page now."}
    done = api.wait_run(run["id"], statuses=("SUCCEEDED", "FAILED"))
    assert done["steps"]["step_2"]["output"] == {"got": "yes"}


def test_a_sync_call_to_a_pausing_flow_waits_for_the_webhook_timeout() -> None:
    pause = piece_action("step_1", DELAY, "delayFor", {"unit": "minutes", "delayFor": 5})
    with ImbraceLocal(sync_timeout=1.0) as engine:
        api = Api(engine)
        flow_id = api.flow(actions=[pause, return_response("step_2", body={"late": True})])
        started = datetime.now(timezone.utc)
        answer = api.post(f"/webhooks/{flow_id}/sync", json={})
        waited = (datetime.now(timezone.utc) - started).total_seconds()
        assert answer.status_code == 204 and waited >= 1.0  # not at once: when the timeout ran out
        assert api.wait_run(api.runs_of(flow_id)[0]["id"])["status"] == "PAUSED"


def test_a_sync_caller_gets_the_reply_of_a_run_resumed_within_its_timeout() -> None:
    pause = piece_action("step_1", DELAY, "delayFor", {"unit": "minutes", "delayFor": 5})
    with ImbraceLocal(sync_timeout=20.0) as engine:
        api = Api(engine)
        flow_id = api.flow(actions=[pause, return_response("step_2", body={"late": True})])

        def resume_when_paused() -> None:
            run = Api(engine).wait_run(Api(engine).runs_of(flow_id)[0]["id"])
            engine.control.resume_run(run["id"])

        helper = threading.Thread(target=resume_when_paused, daemon=True)
        helper.start()
        answer = api.post(f"/webhooks/{flow_id}/sync", json={})
        helper.join(timeout=10)
        assert (answer.status_code, answer.json()) == (200, {"late": True})


def test_async_runs_are_queued_first() -> None:
    with ImbraceLocal(queue_delay=2.0) as engine:
        api = Api(engine)
        flow_id = api.flow(actions=[return_response()])
        api.post(f"/webhooks/{flow_id}", json={})
        queued = api.runs_of(flow_id)[0]
        assert queued["status"] == "QUEUED" and "startTime" not in queued
        assert api.wait_run(queued["id"], statuses=("SUCCEEDED",))["status"] == "SUCCEEDED"


def test_a_sync_run_ends_shortly_after_its_reply() -> None:
    with ImbraceLocal(finish_delay=2.0) as engine:
        api = Api(engine)
        flow_id = api.flow(actions=[return_response(body={"ok": 1})])
        assert api.post(f"/webhooks/{flow_id}/sync", json={}).json() == {"ok": 1}
        run = api.runs_of(flow_id)[0]
        assert run["status"] == "RUNNING"  # replied, not yet ended (2 s here)
        assert api.wait_run(run["id"], statuses=("SUCCEEDED",))["status"] == "SUCCEEDED"


def test_the_error_message_of_a_failed_http_step_is_json_text(api: Api) -> None:
    """A non-2xx answer (here the gateway's 401): the piece's HttpError message, re-printed indented."""
    flow_id = api.flow(actions=[http_call("step_1", api.engine.engine_url + "/v1/flows")])
    api.post(f"/webhooks/{flow_id}", json={})
    message = api.wait_run(api.runs_of(flow_id)[0]["id"])["steps"]["step_1"]["errorMessage"]
    error = json.loads(message)
    assert error["response"]["status"] == 401 and error["request"] == {}
    assert message == json.dumps(error, indent=2)
