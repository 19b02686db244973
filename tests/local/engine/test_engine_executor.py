import time
from datetime import datetime, timedelta, timezone

from engine_builders import (
    branch,
    chain,
    code,
    condition,
    fallback,
    loop,
    mapper,
    piece,
    reply,
    router,
    webhook_trigger,
)

from prefect_imbrace.local.engine import RunContext, execute_run, webhook_output

DELAY = "@activepieces/piece-delay"


def context(first_step=None, body=None, **kwargs) -> RunContext:
    trigger = kwargs.pop("trigger", None) or webhook_trigger(first_step)
    output = webhook_output("POST", {"Content-Type": "application/json"}, body or {}, {}, "{}")
    return RunContext(run_id="run", flow_id="flow", flow_version_id="ver", project_id="proj",
                      trigger=trigger, trigger_output=output, **kwargs)


class Replies:
    def __init__(self):
        self.sent = []

    async def __call__(self, response):
        self.sent.append(response)


async def test_trigger_step_and_template_inputs_are_recorded():
    outcome = await execute_run(context(mapper("step_1", {"n": "{{trigger.body.n}}"}),
                                        body={"n": 5}))
    assert outcome.status == "SUCCEEDED"
    assert outcome.steps["trigger"] == {
        "type": "PIECE_TRIGGER", "status": "SUCCEEDED", "input": {},
        "output": {"method": "POST", "headers": {"content-type": "application/json"},
                   "body": {"n": 5}, "queryParams": {}, "rawBody": "{}"}}
    step = outcome.steps["step_1"]
    assert (step["type"], step["status"]) == ("PIECE", "SUCCEEDED")
    assert step["input"] == {"mapping": {"n": 5}} and step["output"] == {"n": 5}
    assert isinstance(step["duration"], float)
    assert outcome.failed_step is None and outcome.response is None


async def test_return_response_stop_answers_once_and_ends_the_run():
    replies = Replies()
    flow = chain(reply("step_1", {"echo": "{{trigger.body}}"}, status=201), mapper("step_2", 1))
    outcome = await execute_run(context(flow, body={"a": 1}, on_response=replies))
    assert outcome.status == "SUCCEEDED"
    assert replies.sent == [{"status": 201, "headers": {}, "body": {"echo": {"a": 1}}}]
    assert outcome.response == replies.sent[0]
    assert "step_2" not in outcome.steps
    assert outcome.steps["step_1"]["output"] == replies.sent[0]


async def test_respond_and_continue_keeps_running_and_only_the_first_reply_counts():
    replies = Replies()
    flow = chain(reply("step_1", "first", respond="respond"), reply("step_2", "second"),
                 mapper("step_3", 1))
    outcome = await execute_run(context(flow, on_response=replies))
    assert outcome.status == "SUCCEEDED"
    assert [r["body"] for r in replies.sent] == ["first"]
    assert outcome.steps["step_2"]["status"] == "SUCCEEDED"
    assert "step_3" not in outcome.steps


async def test_reply_is_not_sent_when_the_trigger_is_not_the_webhook_piece():
    replies = Replies()
    trigger = {"name": "trigger", "type": "PIECE_TRIGGER", "displayName": "Every hour",
               "settings": {"pieceName": "@activepieces/piece-schedule",
                            "triggerName": "every_hour", "input": {}},
               "nextAction": reply("step_1", "x")}
    outcome = await execute_run(context(trigger=trigger, on_response=replies))
    assert outcome.status == "SUCCEEDED" and replies.sent == [] and outcome.response is None


async def test_redirect_and_raw_replies():
    replies = Replies()
    flow = piece("step_1", "@activepieces/piece-webhook", "return_response",
                 {"responseType": "redirect", "fields": {"url": "http://127.0.0.1/next"}})
    await execute_run(context(flow, on_response=replies))
    assert replies.sent == [{"status": 301, "headers": {"Location": "http://127.0.0.1/next"},
                             "body": "http://127.0.0.1/next"}]
    raw = piece("step_1", "@activepieces/piece-webhook", "return_response",
                {"responseType": "raw", "fields": {"body": "plain {{trigger.body.x}}"}})
    outcome = await execute_run(context(raw, body={"x": 1}))
    assert outcome.response == {"status": 200, "headers": {}, "body": "plain 1"}


async def test_loop_output_shape_and_item_index_references():
    body = mapper("step_2", {"item": "{{loop_1.item}}", "index": "{{loop_1.index}}"})
    flow = chain(loop("loop_1", "{{trigger.body.items}}", body),
                 mapper("step_3", "{{step_2.item}}"))
    outcome = await execute_run(context(flow, body={"items": ["a", "b"]}))
    assert outcome.status == "SUCCEEDED"
    result = outcome.steps["loop_1"]
    assert result["type"] == "LOOP_ON_ITEMS" and result["status"] == "SUCCEEDED"
    assert result["input"] == {"items": ["a", "b"]}
    assert result["output"]["item"] == "b" and result["output"]["index"] == 2
    iterations = result["output"]["iterations"]
    assert [it["step_2"]["output"] for it in iterations] == [
        {"item": "a", "index": 1}, {"item": "b", "index": 2}]
    assert "step_2" not in outcome.steps  # body steps live in the iterations
    assert outcome.steps["step_3"]["output"] == "b"  # the last iteration stays visible


async def test_loop_over_a_non_list_fails_the_run():
    outcome = await execute_run(context(loop("loop_1", "{{trigger.body}}", None), body={"a": 1}))
    assert outcome.status == "FAILED"
    assert outcome.failed_step == {"name": "loop_1", "displayName": "Loop"}
    # the engine stores the loop's own error as this compact JSON text
    assert outcome.steps["loop_1"]["errorMessage"] == (
        '{"message":"The items you have selected must be a list."}')


async def test_empty_loop_succeeds():
    outcome = await execute_run(context(loop("loop_1", "{{trigger.body.items}}", mapper("s", 1)),
                                        body={"items": []}))
    assert outcome.status == "SUCCEEDED"
    assert outcome.steps["loop_1"]["output"] == {"index": 0, "iterations": []}  # no `item`


def _router_flow(mode, n):
    return router(
        "router_1",
        [branch("Big", [condition("{{trigger.body.n}}", "NUMBER_IS_GREATER_THAN", 10)]),
         branch("Even-ish", [condition("{{trigger.body.tags}}", "LIST_CONTAINS", "even")]),
         fallback()],
        [mapper("big", "big"), mapper("even", "even"), mapper("other", "other")],
        mode=mode,
    )


async def test_router_first_match():
    outcome = await execute_run(context(_router_flow("EXECUTE_FIRST_MATCH", 0),
                                        body={"n": 20, "tags": ["even"]}))
    assert outcome.status == "SUCCEEDED"
    assert outcome.steps["router_1"]["output"] == {"branches": [
        {"branchName": "Big", "branchIndex": 1, "evaluation": True},
        {"branchName": "Even-ish", "branchIndex": 2, "evaluation": True},
        {"branchName": "Otherwise", "branchIndex": 3, "evaluation": False}]}
    assert "big" in outcome.steps and "even" not in outcome.steps
    assert outcome.steps["router_1"]["input"]["branches"][0]["conditions"][0][0][
        "firstValue"] == 20


async def test_router_all_match_and_fallback():
    both = await execute_run(context(_router_flow("EXECUTE_ALL_MATCH", 0),
                                     body={"n": 20, "tags": ["even"]}))
    assert {"big", "even"} <= set(both.steps) and "other" not in both.steps
    none = await execute_run(context(_router_flow("EXECUTE_ALL_MATCH", 0),
                                     body={"n": 1, "tags": []}))
    assert "other" in none.steps and "big" not in none.steps
    assert none.steps["router_1"]["output"]["branches"][2]["evaluation"] is True


async def test_multiple_choice_runs_like_a_router():
    flow = _router_flow("EXECUTE_FIRST_MATCH", 0)
    flow["type"] = "MULTIPLE_CHOICE"
    outcome = await execute_run(context(flow, body={"n": 1, "tags": ["even"]}))
    assert outcome.steps["router_1"]["type"] == "MULTIPLE_CHOICE"
    assert "even" in outcome.steps


async def test_router_with_a_bad_operator_fails():
    flow = router("router_1", [branch("B", [condition("a", "NOPE", "b")])], [None])
    outcome = await execute_run(context(flow))
    assert outcome.status == "FAILED" and outcome.failed_step["name"] == "router_1"
    assert "NOPE" in outcome.steps["router_1"]["errorMessage"]


async def test_skipped_steps_are_not_run_nor_recorded():
    flow = chain(mapper("step_1", 1, skip=True), code("step_2"), mapper("step_3", 3))
    flow["nextAction"]["skip"] = True
    outcome = await execute_run(context(flow))
    assert outcome.status == "SUCCEEDED"
    assert set(outcome.steps) == {"trigger", "step_3"}


async def test_code_step_fails_with_a_clear_message():
    outcome = await execute_run(context(chain(mapper("step_1", 1), code("step_2"),
                                              mapper("step_3", 3))))
    assert outcome.status == "FAILED"
    assert outcome.failed_step == {"name": "step_2", "displayName": "Compute"}
    message = outcome.steps["step_2"]["errorMessage"]
    assert message.startswith("Error: Imbrace Local cannot execute CODE steps") and "docs/local-engine.md" in message
    assert outcome.steps["step_2"]["status"] == "FAILED"
    assert "step_3" not in outcome.steps


async def test_unknown_piece_and_unknown_trigger_fail():
    outcome = await execute_run(context(piece("step_1", "@activepieces/piece-slack",
                                              "send_message", {})))
    assert outcome.status == "FAILED" and outcome.failed_step["name"] == "step_1"
    assert "piece-slack" in outcome.steps["step_1"]["errorMessage"]
    empty = {"name": "trigger", "type": "EMPTY", "displayName": "Select Trigger", "settings": {}}
    outcome = await execute_run(context(trigger=empty))
    assert outcome.status == "FAILED" and outcome.failed_step["name"] == "trigger"
    assert outcome.steps["trigger"]["status"] == "FAILED"


def _bad_delay(name, **extra):
    return piece(name, DELAY, "delayFor", {"unit": "fortnights", "delayFor": 1}, **extra)


async def test_continue_on_failure_records_the_failure_and_goes_on():
    options = {"errorHandlingOptions": {"continueOnFailure": {"value": True}}}
    outcome = await execute_run(context(chain(_bad_delay("step_1", settings=options),
                                              mapper("step_2", 2))))
    assert outcome.status == "SUCCEEDED" and outcome.failed_step is None
    assert outcome.steps["step_1"]["status"] == "FAILED"
    assert "fortnights" in outcome.steps["step_1"]["errorMessage"]
    assert outcome.steps["step_2"]["status"] == "SUCCEEDED"


async def test_failure_stops_the_run():
    outcome = await execute_run(context(chain(_bad_delay("step_1"), mapper("step_2", 2))))
    assert outcome.status == "FAILED"
    assert outcome.failed_step == {"name": "step_1", "displayName": "Step_1"}
    assert "step_2" not in outcome.steps


async def test_long_delay_pauses_and_resume_continues_after_it():
    replies = Replies()
    flow = chain(reply("step_1", "early", respond="respond"),
                 piece("step_2", DELAY, "delayFor", {"unit": "minutes", "delayFor": 5}),
                 mapper("step_3", "{{step_2.success}}"))
    before = datetime.now(timezone.utc)
    first = await execute_run(context(flow, on_response=replies))
    assert first.status == "PAUSED"
    assert before + timedelta(minutes=5) <= first.resume_at
    assert first.resume_at <= datetime.now(timezone.utc) + timedelta(minutes=5)
    assert first.steps["step_2"]["status"] == "PAUSED" and "step_3" not in first.steps

    second = await execute_run(context(flow, previous_steps=first.steps, on_response=replies))
    assert second.status == "SUCCEEDED" and second.resume_at is None
    assert second.steps["step_1"] == first.steps["step_1"]  # not executed again
    assert second.steps["step_2"]["status"] == "SUCCEEDED"
    assert second.steps["step_2"]["output"] == {"delayForInMs": 300000, "success": True}
    assert second.steps["step_3"]["output"] is True
    assert [r["body"] for r in replies.sent] == ["early"]


async def test_delay_until_in_the_future_pauses_and_in_the_past_continues():
    when = (datetime.now(timezone.utc) + timedelta(hours=2)).replace(microsecond=0)
    flow = piece("step_1", DELAY, "delay_until", {"delayUntilTimestamp": when.isoformat()})
    outcome = await execute_run(context(flow))
    assert outcome.status == "PAUSED" and outcome.resume_at == when
    past = piece("step_1", DELAY, "delay_until", {"delayUntilTimestamp": "2020-01-01T00:00:00Z"})
    outcome = await execute_run(context(past))
    assert outcome.status == "SUCCEEDED"
    assert outcome.steps["step_1"]["output"] == {"delayTill": "2020-01-01T00:00:00.000Z",
                                                 "success": True}


async def test_short_delay_runs_inside_the_run_like_the_real_piece():
    flow = piece("step_1", DELAY, "delay_for", {"unit": "seconds", "delayFor": 0})
    outcome = await execute_run(context(flow))
    assert outcome.status == "SUCCEEDED"
    assert outcome.steps["step_1"]["output"] == {"delayForInMs": 0, "success": True}


async def test_pause_inside_a_loop_resumes_at_the_right_iteration():
    body = chain(mapper("step_2", "{{loop_1.item}}"),
                 piece("step_3", DELAY, "delayFor", {"unit": "hours", "delayFor": 1}))
    flow = loop("loop_1", "{{trigger.body.items}}", body)
    first = await execute_run(context(flow, body={"items": [1, 2]}))
    assert first.status == "PAUSED"
    assert len(first.steps["loop_1"]["output"]["iterations"]) == 1
    second = await execute_run(context(flow, body={"items": [1, 2]},
                                       previous_steps=first.steps))
    assert second.status == "PAUSED"  # the second iteration's delay
    iterations = second.steps["loop_1"]["output"]["iterations"]
    assert iterations[0]["step_3"]["status"] == "SUCCEEDED"
    assert iterations[1]["step_3"]["status"] == "PAUSED"
    third = await execute_run(context(flow, body={"items": [1, 2]},
                                      previous_steps=second.steps))
    assert third.status == "SUCCEEDED"


async def test_retry_from_failed_step_reuses_succeeded_steps():
    previous = {
        "trigger": {"type": "PIECE_TRIGGER", "status": "SUCCEEDED", "input": {}, "output": {}},
        "step_1": {"type": "PIECE", "status": "SUCCEEDED", "input": {"mapping": "old"},
                   "output": "from the first attempt", "duration": 1.0},
        "step_2": {"type": "PIECE", "status": "FAILED", "input": {}, "duration": 1.0,
                   "errorMessage": {"message": "boom"}},
    }
    flow = chain(mapper("step_1", "new"), mapper("step_2", "{{step_1}}"))
    outcome = await execute_run(context(flow, previous_steps=previous))
    assert outcome.status == "SUCCEEDED"
    assert outcome.steps["step_1"]["output"] == "from the first attempt"
    assert outcome.steps["step_2"]["output"] == "from the first attempt"


async def test_deadline_already_passed_times_out():
    outcome = await execute_run(context(mapper("step_1", 1), deadline=time.monotonic() - 1))
    assert outcome.status == "TIMEOUT" and "step_1" not in outcome.steps


async def test_deadline_during_a_step_times_out():
    flow = chain(piece("step_1", DELAY, "delayFor", {"unit": "seconds", "delayFor": 8}),
                 mapper("step_2", 2))  # 8 s sleeps inside the run (above 10 s it would pause)
    outcome = await execute_run(context(flow, deadline=time.monotonic() + 0.2))
    assert outcome.status == "TIMEOUT"
    assert outcome.steps["step_1"]["status"] == "FAILED"
    assert "step_2" not in outcome.steps


async def test_connections_are_used_but_censored_in_recorded_inputs():
    flow = mapper("step_1", {"token": "{{connections['api']}}"})
    outcome = await execute_run(context(flow, connections={
        "api": {"type": "SECRET_TEXT", "secret_text": "s3cret"}}))
    assert outcome.steps["step_1"]["input"] == {"mapping": {"token": "**REDACTED**"}}
    assert outcome.steps["step_1"]["output"] == {"token": "s3cret"}


async def test_a_broken_tree_is_an_internal_error_not_an_exception():
    flow = mapper("step_1", 1)
    flow["nextAction"] = "not a step"
    outcome = await execute_run(context(flow))
    assert outcome.status == "INTERNAL_ERROR"
    assert outcome.steps["step_1"]["status"] == "SUCCEEDED"


async def test_on_response_errors_do_not_break_the_run():
    async def broken(_):
        raise RuntimeError("caller went away")

    outcome = await execute_run(context(reply("step_1", 1), on_response=broken))
    assert outcome.status == "SUCCEEDED" and outcome.response["body"] == 1
