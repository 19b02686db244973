import base64
from datetime import datetime, timezone

import pytest
from engine_builders import code, loop, mapper, piece, router, webhook_trigger

from prefect_imbrace.local.engine import (
    get_piece,
    list_pieces,
    pin_piece_versions,
    schedule_of,
    schedule_output,
    validate_schedule,
    version_is_valid,
    webhook_auth_passes,
    webhook_output,
)
from prefect_imbrace.local.engine.validity import step_is_valid
from prefect_imbrace.local.errors import EngineError


@pytest.mark.parametrize(
    ("step", "valid"),
    [
        ({"type": "EMPTY", "settings": {}}, False),
        (webhook_trigger(), True),
        (mapper("s", {"a": 1}), True),
        (mapper("s", None), False),  # required `mapping` missing
        (piece("s", "@activepieces/piece-slack", "send", {}), False),
        (piece("s", "@activepieces/piece-http", "nope", {}), False),
        (piece("s", "@activepieces/piece-http", "send_request",  # piece-http 0.9.5 requires
               {"method": "GET", "url": "http://127.0.0.1"}), False),  # headers, queryParams, authType
        (piece("s", "@activepieces/piece-http", "send_request",
               {"method": "GET", "url": "http://127.0.0.1", "headers": {}, "queryParams": {},
                "authType": "NONE"}), True),
        (piece("s", "@activepieces/piece-http", "send_request",
               {"method": "GET", "url": "", "headers": {}, "queryParams": {},
                "authType": "NONE"}), False),  # a required text must not be empty
        (piece("s", "@activepieces/piece-http", "send_request",
               {"method": "GET", "url": "http://x", "headers": {}, "queryParams": {},
                "authType": "NONE", "timeout": True}), False),  # an optional input has its type
        (piece("s", "@activepieces/piece-delay", "delayFor", {"delayFor": 5}), False),  # no unit
        (piece("s", "@activepieces/piece-delay", "delayFor", {"unit": "seconds", "delayFor": "5"}),
         True),
        ({**code("s"), "valid": False}, False),
        (code("s"), True),
        (loop("l", "{{trigger.body}}", None), True),
        (loop("l", "", None), False),
        (router("r", [], []), False),
        (router("r", [{"branchName": "x", "branchType": "FALLBACK"}], [None]), True),
        (router("r", [{"branchName": "x", "branchType": "CONDITION"}], [None]), False),
    ],
)
def test_step_validity(step, valid):
    assert step_is_valid(step) is valid


def test_version_validity_and_pinning():
    tree = webhook_trigger(piece("s", "@activepieces/piece-delay", "delayFor",
                                 {"unit": "seconds", "delayFor": 1},
                                 settings={"pieceVersion": "^0.3.21"}))
    assert version_is_valid(tree)
    pinned = pin_piece_versions(tree)
    assert pinned["settings"]["pieceVersion"] == "0.1.25"
    assert pinned["nextAction"]["settings"]["pieceVersion"] == "0.3.21"
    assert tree["settings"]["pieceVersion"] == "~0.1.25"
    assert not version_is_valid(webhook_trigger(code("c") | {"valid": False}))


def test_webhook_output_lower_cases_headers():
    out = webhook_output("post", {"X-Prefect-Imbrace-Key": "k"}, {"a": 1}, {"q": "1"}, '{"a":1}')
    assert out == {"method": "POST", "headers": {"x-prefect-imbrace-key": "k"}, "body": {"a": 1},
                   "queryParams": {"q": "1"}, "rawBody": '{"a":1}'}


def test_webhook_auth():
    assert webhook_auth_passes(webhook_trigger(), {})
    basic = webhook_trigger(authType="basic", authFields={"username": "u", "password": "p"})
    good = "Basic " + base64.b64encode(b"u:p").decode()
    assert webhook_auth_passes(basic, {"Authorization": good})
    assert not webhook_auth_passes(basic, {"authorization": "Basic " + base64.b64encode(
        b"u:x").decode()})
    assert not webhook_auth_passes(basic, {"authorization": "Basic !!!"})
    assert not webhook_auth_passes(basic, {})
    header = webhook_trigger(authType="header",
                             authFields={"headerName": "X-Secret", "headerValue": "s"})
    assert webhook_auth_passes(header, {"x-secret": "s"})
    assert not webhook_auth_passes(header, {"x-secret": "t"})
    assert not webhook_auth_passes(header, {})


def _schedule(name, **inputs):
    return {"name": "trigger", "type": "PIECE_TRIGGER", "displayName": "S", "settings": {
        "pieceName": "@activepieces/piece-schedule", "pieceVersion": "0.1.13",
        "triggerName": name, "input": inputs}}


@pytest.mark.parametrize(
    ("trigger", "cron", "tz"),
    [
        (_schedule("every_x_minutes", minutes=5), "*/5 * * * *", "UTC"),
        (_schedule("every_hour"), "0 * * * *", "UTC"),
        (_schedule("every_day", hour_of_the_day=9, run_on_weekends=False), "0 9 * * 1-5", "UTC"),
        (_schedule("every_day", hour_of_the_day=9, run_on_weekends=True,
                   timezone="Europe/Paris"), "0 9 * * *", "Europe/Paris"),
        (_schedule("every_week", day_of_the_week=1, hour_of_the_day=8), "0 8 * * 1", "UTC"),
        (_schedule("every_month", day_of_the_month=15, hour_of_the_day=0), "0 0 15 * *", "UTC"),
        (_schedule("cron_expression", cronExpression="*/2 * * * *", timezone="Asia/Tokyo"),
         "*/2 * * * *", "Asia/Tokyo"),
    ],
)
def test_schedules(trigger, cron, tz):
    assert schedule_of(trigger) == {"type": "CRON_EXPRESSION", "cronExpression": cron,
                                    "timezone": tz}
    assert step_is_valid(trigger)


def test_non_schedule_triggers_have_no_schedule():
    assert schedule_of(webhook_trigger()) is None


@pytest.mark.parametrize(
    "trigger",
    [_schedule("cron_expression", cronExpression="every monday"),
     _schedule("every_x_minutes", minutes=0), _schedule("every_day", hour_of_the_day=24),
     _schedule("every_fortnight")],
)
def test_bad_schedules_are_engine_errors_but_schedule_of_stays_quiet(trigger):
    with pytest.raises(EngineError) as info:
        validate_schedule(trigger)
    assert info.value.code in ("TRIGGER_FAILED", "PIECE_TRIGGER_NOT_FOUND")
    assert schedule_of(trigger) is None
    assert not step_is_valid(trigger)


def test_schedule_output():
    fired = datetime(2026, 11, 28, 10, 0, tzinfo=timezone.utc)
    schedule = {"type": "CRON_EXPRESSION", "cronExpression": "0 * * * *", "timezone": "UTC"}
    assert schedule_output(fired, schedule) == {"cron_expression": "0 * * * *",
                                                "timezone": "UTC",
                                                "firedAt": "2026-11-28T10:00:00.000Z"}
    assert schedule_output(fired) == {"firedAt": "2026-11-28T10:00:00.000Z"}


def test_catalogue_lists_exactly_the_executable_pieces():
    listed = list_pieces()
    assert [p["name"] for p in listed] == [
        "@activepieces/piece-data-mapper", "@activepieces/piece-delay",
        "@activepieces/piece-http", "@activepieces/piece-schedule", "@activepieces/piece-webhook"]
    webhook = next(p for p in listed if p["name"].endswith("webhook"))
    assert webhook["version"] == "0.1.25" and webhook["actions"] == 2
    assert webhook["triggers"] == 1 and webhook["pieceType"] == "OFFICIAL"
    assert len(webhook["id"]) == 21 and webhook["projectUsage"] == 0
    full = get_piece("@activepieces/piece-webhook")
    assert set(full["actions"]) == {"return_response", "return_response_and_wait_for_next_webhook"}
    assert full["triggers"]["catch_webhook"]["props"]["authType"]["required"] is True
    assert get_piece("@activepieces/piece-schedule")["actions"] == {}
    assert get_piece("@activepieces/piece-slack") is None
