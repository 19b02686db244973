"""What the trigger step sees (webhook payload, schedule tick) and when schedules fire."""

from __future__ import annotations

import base64
import binascii
import hmac
from datetime import datetime, timezone
from typing import Any

from croniter import croniter

from ..errors import EngineError
from .pieces.webhook import NAME as WEBHOOK_PIECE

SCHEDULE_PIECE = "@activepieces/piece-schedule"


def webhook_output(method: str, headers: dict, body: Any, query: dict, raw_body: str) -> dict:
    """The Catch Webhook trigger output (imbrace-api.md §6.2); header names lower-cased."""
    return {
        "method": method.upper(),
        "headers": {str(k).lower(): v for k, v in (headers or {}).items()},
        "body": body,
        "queryParams": dict(query or {}),
        "rawBody": raw_body,
    }


def _header(headers: dict, name: str) -> str | None:
    wanted = name.lower()
    return next((str(v) for k, v in (headers or {}).items() if str(k).lower() == wanted), None)


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def webhook_auth_passes(trigger: dict, headers: dict) -> bool:
    """The Catch Webhook `authType` check; a failing request produces no run."""
    settings = trigger.get("settings") or {}
    if settings.get("pieceName") != WEBHOOK_PIECE:
        return True
    inputs = settings.get("input") or {}
    auth_type = inputs.get("authType") or "none"
    fields = inputs.get("authFields") or {}
    if auth_type == "none":
        return True
    if auth_type == "basic":
        value = _header(headers, "authorization") or ""
        scheme, _, encoded = value.partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return False
        expected = f"{fields.get('username', '')}:{fields.get('password', '')}"
        return _same(decoded, expected)
    if auth_type == "header":
        name = fields.get("headerName")
        got = _header(headers, str(name)) if name else None
        return got is not None and _same(got, str(fields.get("headerValue", "")))
    return False


def _int(inputs: dict, key: str, low: int, high: int, default: int | None = None) -> int:
    value: Any = inputs.get(key, default)
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = None
    if number is None or not low <= number <= high or isinstance(value, bool):
        raise EngineError("TRIGGER_FAILED", {"message": f"{key} must be an integer from {low} to {high}, got {value!r}"})
    return number


def schedule_of(trigger: dict) -> dict | None:
    """The `triggerSource.schedule` of a schedule-piece trigger.

    None for any other trigger and for a schedule trigger whose inputs are unusable: this is
    called on read paths and by the scheduler loop, so it never raises (see validate_schedule).
    """
    try:
        return validate_schedule(trigger)
    except EngineError:
        return None


def validate_schedule(trigger: dict) -> dict | None:
    """Like schedule_of, but an unusable schedule raises EngineError (400) saying what to fix."""
    settings = trigger.get("settings") or {}
    if trigger.get("type") != "PIECE_TRIGGER" or settings.get("pieceName") != SCHEDULE_PIECE:
        return None
    name, inputs = settings.get("triggerName"), settings.get("input") or {}
    tz = inputs.get("timezone") or "UTC"
    if name == "every_x_minutes":
        cron, tz = f"*/{_int(inputs, 'minutes', 1, 59)} * * * *", "UTC"
    elif name == "every_hour":
        cron, tz = "0 * * * *", "UTC"
    elif name == "every_day":
        weekdays = "*" if inputs.get("run_on_weekends") else "1-5"
        cron = f"0 {_int(inputs, 'hour_of_the_day', 0, 23)} * * {weekdays}"
    elif name == "every_week":
        cron = (f"0 {_int(inputs, 'hour_of_the_day', 0, 23)} * * "
                f"{_int(inputs, 'day_of_the_week', 0, 6)}")
    elif name == "every_month":
        cron = (f"0 {_int(inputs, 'hour_of_the_day', 0, 23)} "
                f"{_int(inputs, 'day_of_the_month', 1, 31)} * *")
    elif name == "cron_expression":
        cron = str(inputs.get("cronExpression") or "").strip()
        if not croniter.is_valid(cron) or len(cron.split()) != 5:
            raise EngineError("TRIGGER_FAILED",
                              {"message": f"{cron!r} is not a valid 5-field cron expression"})
    else:
        raise EngineError("PIECE_TRIGGER_NOT_FOUND",
                          {"pieceName": SCHEDULE_PIECE, "triggerName": name})
    return {"type": "CRON_EXPRESSION", "cronExpression": cron, "timezone": tz}


def schedule_output(fired_at: datetime, schedule: dict | None = None) -> dict:
    """The schedule trigger's output: the piece emits `{cron_expression, timezone}`.

    `firedAt` (ISO UTC) is an Imbrace Local addition so a run shows which tick started it.
    """
    stamp = fired_at.astimezone(timezone.utc).isoformat(timespec="milliseconds")
    output: dict[str, Any] = {}
    if schedule:
        output = {"cron_expression": schedule.get("cronExpression"),
                  "timezone": schedule.get("timezone", "UTC")}
    output["firedAt"] = stamp.replace("+00:00", "Z")
    return output
