"""`@activepieces/piece-delay`: Delay For / Delay Until.

As observed on a 0.72.4 engine with piece-delay 0.3.21: Delay For sleeps inside the run for at
most 10 s and pauses the run for anything longer (a 15 s delay is PAUSED within seconds); Delay
Until sleeps for at most 60 s. A paused run (status PAUSED, `resume_at`) is resumed by the
server's timer.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

from ...clock import engine_now
from ..errors import PauseRun, StepFailed
from .base import Action, Piece, StepCall, dropdown, prop

_UNITS = {"seconds": 1, "minutes": 60, "hours": 3600, "days": 86400}
DELAY_FOR_IN_RUN_MS = 10_000
DELAY_UNTIL_IN_RUN_MS = 60_000


def _parse_when(value: object) -> datetime:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return datetime.fromtimestamp(value / 1000, tz=timezone.utc)
    if isinstance(value, str) and value.strip():
        try:
            parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            pass
        else:
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
    raise StepFailed(f"Delay Until: {value!r} is not an ISO-8601 date-time")


async def delay_for(call: StepCall) -> dict:
    unit = call.input.get("unit") or "seconds"
    if unit not in _UNITS:
        raise StepFailed(f"Delay For: unit must be one of {', '.join(_UNITS)}, got {unit!r}")
    amount = call.input.get("delayFor")
    if isinstance(amount, str):
        try:
            amount = float(amount)
        except ValueError:
            amount = None
    if not isinstance(amount, (int, float)) or isinstance(amount, bool) or amount < 0:
        raise StepFailed(f"Delay For: delayFor must be a number >= 0, got {call.input.get('delayFor')!r}")
    delay_ms = amount * _UNITS[unit] * 1000
    if call.resumed:
        return {"delayForInMs": delay_ms, "success": True}
    if delay_ms > DELAY_FOR_IN_RUN_MS:
        raise PauseRun(engine_now() + timedelta(milliseconds=delay_ms))
    await asyncio.sleep(delay_ms / 1000)
    return {"delayForInMs": delay_ms, "success": True}


async def delay_until(call: StepCall) -> dict:
    when = _parse_when(call.input.get("delayUntilTimestamp"))
    stamp = when.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    delay_ms = (when - engine_now()).total_seconds() * 1000
    if call.resumed or delay_ms <= 0:
        return {"delayTill": stamp, "success": True}
    if delay_ms > DELAY_UNTIL_IN_RUN_MS:
        raise PauseRun(when.astimezone(timezone.utc))
    await asyncio.sleep(delay_ms / 1000)
    return {"delayTill": stamp, "success": True}


PIECE = Piece(
    name="@activepieces/piece-delay",
    display_name="Delay",
    version="0.3.21",
    description="Use it to delay the execution of the next action",
    logo_url="https://cdn.activepieces.com/pieces/delay.png",
    authors=["Nilesh", "kishanprmr", "MoShizzle", "AbdulTheActivePiecer", "khaledmashaly",
             "abuaboud"],
    categories=["CORE", "FLOW_CONTROL"],
    minimum_supported_release="0.36.1",
    actions=[
        Action(
            "delayFor", "Delay For",
            "Delays the execution of the next action for a given duration",
            {
                "unit": dropdown("Unit", [("Seconds", "seconds"), ("Minutes", "minutes"),
                                          ("Hours", "hours"), ("Days", "days")], True,
                                 default="seconds"),
                "delayFor": prop("Amount", "NUMBER", True),
            },
            delay_for,
            aliases=("delay_for",),
        ),
        Action(
            "delay_until", "Delay Until",
            "Delays the execution of the next action until a given timestamp",
            {"delayUntilTimestamp": prop("Date and Time", "DATE_TIME", True)},
            delay_until,
        ),
    ],
)
