"""`GET /_local/counters` gauges: runs in flight at once and the peak of requests per second."""

from __future__ import annotations

from prefect_imbrace.local import ImbraceLocal
from prefect_imbrace.local.gauges import Gauges

from .conftest import Api, piece_action

SLEEP = piece_action("step_1", "@activepieces/piece-delay", "delayFor", {"unit": "seconds", "delayFor": 2})


def test_running_high_water_counts_runs_queued_or_running_at_once(engine: ImbraceLocal, api: Api) -> None:
    assert engine.control.counters()["running_high_water"] == 0
    flow_id = api.flow(actions=[SLEEP])
    for _ in range(4):
        assert api.post(f"/webhooks/{flow_id}", json={}).status_code == 200
    runs = api.runs_of(flow_id, count=4)
    for run in runs:
        assert api.wait_run(run["id"], ("SUCCEEDED",))["status"] == "SUCCEEDED"
    assert engine.control.counters()["running_high_water"] == 4  # all four slept at once

    api.post(f"/webhooks/{flow_id}", json={})  # alone now: the high water stays at 4
    (latest, *_) = api.runs_of(flow_id, count=5)
    api.wait_run(latest["id"], ("SUCCEEDED",))
    assert engine.control.counters()["running_high_water"] == 4

    engine.control.reset()
    assert engine.control.counters()["running_high_water"] == 0


def test_requests_per_second_peak_counts_engine_requests_only(engine: ImbraceLocal, api: Api) -> None:
    for _ in range(5):
        engine.control.counters()  # control-plane calls are not engine requests
    assert engine.control.counters()["requests_per_second_peak"] == 0
    for _ in range(6):
        assert api.get("/flows").status_code == 200
    assert 1 <= engine.control.counters()["requests_per_second_peak"] <= 6
    engine.control.reset()
    assert engine.control.counters()["requests_per_second_peak"] == 0


def test_the_peak_is_over_a_sliding_second() -> None:
    now = [0.0]
    gauges = Gauges(clock=lambda: now[0])
    for t in (0.0, 0.6, 0.9, 1.2, 1.5, 1.8, 2.7):  # 0.9..1.8 holds 4 within one second
        now[0] = t
        gauges.count_request()
    assert gauges.snapshot()["requests_per_second_peak"] == 4


def test_the_high_water_follows_status_writes() -> None:
    gauges = Gauges()
    for run_id in "abc":
        gauges.observe_run({"id": run_id, "status": "QUEUED"})
    gauges.observe_run({"id": "a", "status": "RUNNING"})  # still one run
    gauges.observe_run({"id": "b", "status": "SUCCEEDED"})
    gauges.observe_run({"id": "a", "status": "PAUSED"})  # a paused run is not in flight
    gauges.observe_run({"id": "a", "status": "RUNNING"})  # resumed
    gauges.observe_run({"id": "d", "status": "RUNNING"})
    gauges.observe_run({"id": "c", "status": None})  # deleted
    assert gauges.snapshot()["running_high_water"] == 3
    gauges.reset({"a", "d"})
    assert gauges.snapshot()["running_high_water"] == 2
