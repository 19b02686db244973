"""The control plane: token guard, faults (status, latency, lost response), counters, reset."""

from __future__ import annotations

import httpx
import pytest

from prefect_imbrace.local import ImbraceLocal

from .conftest import Api


def test_control_plane_needs_the_token(engine: ImbraceLocal) -> None:
    assert httpx.get(engine.url + "/_local/counters").status_code == 401
    assert httpx.get(engine.url + "/_local/counters", headers={"x-control-token": "wrong"}).status_code == 401
    assert "requests" in engine.control.counters()


def test_status_fault_answers_before_processing(engine: ImbraceLocal, api: Api) -> None:
    engine.control.add_fault(r"/v1/flows$", method="POST", status=503, headers={"Retry-After": "2"},
                             body={"message": "busy"}, times=2)
    for _ in range(2):
        r = api.post("/flows", json={"displayName": "x"})
        assert (r.status_code, r.json(), r.headers["retry-after"]) == (503, {"message": "busy"}, "2")
    assert api.get("/flows").json()["data"] == []  # nothing was processed
    assert api.post("/flows", json={"displayName": "x"}).status_code == 201
    assert engine.control.counters()["faults_fired"] == 2


def test_faults_are_listed_with_fire_counts_and_can_match_the_query(engine: ImbraceLocal, api: Api) -> None:
    hit = engine.control.add_fault(r"/v1/folders$", method="GET", status=503, times=3, query=r"limit=7(&|$)")
    assert api.get("/folders", params={"limit": 8}).status_code == 200  # other query: not matched
    assert api.get("/folders").status_code == 200
    assert api.get("/folders", params={"limit": 7}).status_code == 503
    [listed] = engine.control.faults()
    assert (listed["id"], listed["fired"], listed["times_left"], listed["query"]) == (hit, 1, 2, r"limit=7(&|$)")
    assert api.get("/folders", params={"limit": 7}).status_code == 503
    assert api.get("/folders", params={"limit": 7}).status_code == 503
    assert engine.control.faults() == []  # spent faults are no longer live
    counters = engine.control.counters()
    assert counters["faults_fired"] == 3 and counters["state_restored"] is False and counters["since"]


def test_lost_response_processes_then_drops(engine: ImbraceLocal, api: Api) -> None:
    engine.control.add_fault(r"/v1/flows$", method="POST", lost_response=True)
    with pytest.raises(httpx.RemoteProtocolError):
        api.post("/flows", json={"displayName": "processed"})
    names = [f["version"]["displayName"] for f in api.get("/flows").json()["data"]]
    assert names == ["processed"]


def test_latency_and_clear(engine: ImbraceLocal, api: Api) -> None:
    engine.control.add_fault("/v1/folders", latency_ms=50, times=5)
    assert api.get("/folders").status_code == 200
    engine.control.clear_faults()
    engine.control.add_fault("/v1/folders", status=500)
    engine.control.clear_faults()
    assert api.get("/folders").status_code == 200


def test_a_slow_answer_still_starts_the_run_of_a_client_that_gave_up(engine: ImbraceLocal, api: Api) -> None:
    """The engine reads the whole request before it is slow to answer: a client that times out
    meanwhile has still triggered its run (the case a re-send must not duplicate)."""
    import time

    flow_id = api.flow(actions=[])
    engine.control.add_fault(rf"/v1/webhooks/{flow_id}$", method="POST", latency_ms=800)
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(f"{engine.url}/activepieces/v1/webhooks/{flow_id}", json={"n": 1},
                   timeout=httpx.Timeout(5.0, read=0.2),  # reaches the engine on a busy machine
                   headers={"x-api-key": engine.api_key})
    deadline = time.monotonic() + 10
    while not engine.control.counters()["runs_per_flow"].get(flow_id) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert engine.control.counters()["runs_per_flow"] == {flow_id: 1}


def test_counters_and_reset(engine: ImbraceLocal, api: Api) -> None:
    flow_id = api.flow(actions=[])
    api.post(f"/webhooks/{flow_id}/", json={})  # trailing slash is ignored
    api.runs_of(flow_id)
    counters = engine.control.counters()
    assert counters["requests"][f"POST /activepieces/v1/webhooks/{flow_id}"] == 1
    assert counters["runs_per_flow"] == {flow_id: 1}
    project_id = engine.project_id
    engine.control.reset()
    assert api.get("/flows").json()["data"] == []
    assert engine.control.counters()["runs_per_flow"] == {}
    assert api.get("/users/projects/current").json()["id"] == project_id  # organisations survive


def test_session_fixture_is_shared_and_resettable(imbrace_local_session: ImbraceLocal) -> None:
    api = Api(imbrace_local_session)
    api.post("/flows", json={"displayName": "session"})
    imbrace_local_session.control.reset()
    assert api.get("/flows").json()["data"] == []


def test_cancel_only_touches_queued_and_paused(engine: ImbraceLocal, api: Api) -> None:
    flow_id = api.flow(actions=[])
    for _ in range(2):
        api.post(f"/webhooks/{flow_id}", json={})
    queued, done = (api.wait_run(r["id"]) for r in api.runs_of(flow_id, count=2))
    engine.control.set_run_status(queued["id"], "QUEUED")
    assert api.post("/flow-runs/cancel", json={"flowId": flow_id}).status_code == 200
    assert api.get(f"/flow-runs/{queued['id']}").json()["status"] == "CANCELED"
    assert api.get(f"/flow-runs/{done['id']}").json()["status"] == "SUCCEEDED"
