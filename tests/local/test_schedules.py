"""Schedule-piece flows fire PRODUCTION runs while the server runs (clock driven by the test)."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

from prefect_imbrace.local import ImbraceLocal

from .conftest import Api


def schedule_trigger(name: str, inputs: dict) -> dict:
    return {"name": "trigger", "type": "PIECE_TRIGGER", "valid": True, "displayName": "Schedule",
            "settings": {"pieceName": "@activepieces/piece-schedule", "pieceVersion": "~0.1.13",
                         "triggerName": name, "input": inputs, "propertySettings": {}}}


def fire(engine: ImbraceLocal, now: datetime) -> list:
    """Run the scheduler's tick on the server loop with a chosen clock."""
    runner = engine._backend.runner

    async def tick() -> list:
        return runner.fire_due(now)

    return asyncio.run_coroutine_threadsafe(tick(), runner.loop).result(timeout=5)


def test_enabled_schedule_fires_runs(engine: ImbraceLocal, api: Api) -> None:
    flow_id = api.flow(actions=[], trigger=schedule_trigger("every_x_minutes", {"minutes": 5}))
    flow = api.get(f"/flows/{flow_id}").json()
    assert flow["triggerSource"] == {"schedule": {"type": "CRON_EXPRESSION", "cronExpression": "*/5 * * * *", "timezone": "UTC"}}
    now = datetime.now(timezone.utc)
    fire(engine, now)  # learns the next fire time
    assert fire(engine, now + timedelta(minutes=6))
    run = api.wait_run(api.runs_of(flow_id)[0]["id"])
    assert run["status"] == "SUCCEEDED" and run["environment"] == "PRODUCTION"
    api.op(flow_id, "CHANGE_STATUS", {"status": "DISABLED"})
    assert fire(engine, now + timedelta(minutes=30)) == []


def test_bad_cron_cannot_be_enabled(api: Api) -> None:
    flow_id = api.flow(actions=[], trigger=schedule_trigger("cron_expression", {"cronExpression": "nope", "timezone": "UTC"}),
                       publish=False)
    r = api.op(flow_id, "LOCK_AND_PUBLISH", {})
    assert r.status_code == 400 and r.json()["code"] == "TRIGGER_FAILED"
    assert api.get(f"/flows/{flow_id}").json()["status"] == "DISABLED"
