"""`@activepieces/piece-schedule`: triggers only (the server fires them; see triggers.py)."""

from __future__ import annotations

from functools import partial

from .base import Piece, Trigger, prop

_Polling = partial(Trigger, strategy="POLLING")

_TZ = prop("Timezone", "STATIC_DROPDOWN", False, defaultValue="UTC")
_HOUR = prop("Hour of the day", "STATIC_DROPDOWN", True)

PIECE = Piece(
    name="@activepieces/piece-schedule",
    display_name="Schedule",
    version="0.1.13",
    description="Trigger flow with fixed schedule",
    logo_url="https://cdn.activepieces.com/pieces/schedule.png",
    authors=["kishanprmr", "khaledmashaly", "abuaboud"],
    categories=["CORE"],
    minimum_supported_release="0.30.0",
    triggers=[
        _Polling("every_x_minutes", "Every X Minutes", "Triggers the current flow every X minutes",
                {"minutes": prop("Minutes", "NUMBER", True)}),
        _Polling("every_hour", "Every Hour", "Triggers the current flow every hour", {}),
        _Polling("every_day", "Every Day", "Triggers the current flow every day",
                {"hour_of_the_day": _HOUR, "timezone": _TZ,
                 "run_on_weekends": prop("Run on weekends (Sat,Sun)", "CHECKBOX", False,
                                         defaultValue=False)}),
        _Polling("every_week", "Every Week", "Triggers the current flow every week",
                {"day_of_the_week": prop("Day of the week", "STATIC_DROPDOWN", True),
                 "hour_of_the_day": _HOUR, "timezone": _TZ}),
        _Polling("every_month", "Every Month", "Triggers the current flow every month",
                {"day_of_the_month": prop("Day of the month", "STATIC_DROPDOWN", True),
                 "hour_of_the_day": _HOUR, "timezone": _TZ}),
        _Polling("cron_expression", "Cron Expression", "Use a cron expression to trigger the flow",
                {"cronExpression": prop("Cron Expression", "SHORT_TEXT", True),
                 "timezone": _TZ}),
    ],
)
