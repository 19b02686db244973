"""A process killed mid-wait (SIGKILL) and its flow run re-run in a NEW process: the new process
adopts the Imbrace run from the durable trigger record, without searching the engine."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from durable_child import child
from imbrace_prefect_helpers import SECRET_KEY
from prefect.client.orchestration import get_client
from prefect.settings import PREFECT_API_URL
from prefect.states import Scheduled

from prefect_imbrace.exactly_once.record import RECORD_TAG

CHILD = Path(__file__).with_name("durable_child.py")


def record_variables() -> list[dict]:
    """Every Prefect Variable that holds trigger records (claims and journals)."""
    out: list[dict] = []
    with get_client(sync_client=True) as client:
        offset = 0
        while True:
            page = client.request("POST", "/variables/filter", json={
                "variables": {"tags": {"all_": [RECORD_TAG]}}, "limit": 200, "offset": offset,
            }).json()
            out += page
            if len(page) < 200:
                return out
            offset += 200


def stored_states(flow_id: str) -> dict[str, list[dict]]:
    """Each stored state of each trigger record of `flow_id`, by key, oldest first."""
    by_key: dict[str, list[dict]] = {}
    for variable in record_variables():
        value = variable["value"]
        for record in value.get("records", [value]):
            if record.get("flow_id") == flow_id:
                by_key.setdefault(record["key"], []).append(record)
    return {k: sorted(vs, key=lambda r: r["updated"]) for k, vs in by_key.items()}


def records_of(flow_id: str) -> list[dict]:
    """The newest stored state of each trigger record of `flow_id` (what a reader adopts from)."""
    return [states[-1] for states in stored_states(flow_id).values()]


def wait_for(predicate, what: str, limit: float = 90.0):
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def start_child(flow_run_id: str) -> subprocess.Popen:
    env = {**os.environ, "PREFECT_API_URL": PREFECT_API_URL.value(),
           "PREFECT_INTEGRATIONS_IMBRACE_POLL_INTERVAL": "0.2",
           "PREFECT_INTEGRATIONS_IMBRACE_MAX_POLL_INTERVAL": "1.0"}
    return subprocess.Popen([sys.executable, str(CHILD), flow_run_id], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=CHILD.parent)


def test_sigkill_mid_wait_then_rerun_in_a_new_process_adopts_from_the_record(creds, flows, engine):
    fid = flows.paused()  # Delay For 60 minutes: PAUSED, so its key shows and the run is identified
    with get_client(sync_client=True) as client:
        flow_run = client.create_flow_run(
            child, parameters={"gateway": engine.url, "api_key": SECRET_KEY, "flow_id": fid})

    first = start_child(str(flow_run.id))
    try:
        [record] = wait_for(lambda: [r for r in records_of(fid) if r["state"] == "IDENTIFIED"],
                            "the record to name the run")
    finally:
        os.kill(first.pid, signal.SIGKILL)  # mid-wait: no hook, no cleanup, no goodbye
        first.communicate(timeout=30)
    assert first.returncode == -signal.SIGKILL
    run_id = record["run_id"]
    engine.control.resume_run(run_id)  # let the Imbrace run end while nobody waits for it
    with creds.get_client() as client:
        wait_for(lambda: client.workflows.get_run(run_id=run_id).status == "SUCCEEDED", "the run to end")

    before = engine.control.counters()["requests"]
    with get_client(sync_client=True) as client:
        client.set_flow_run_state(flow_run.id, Scheduled(), force=True)
    second = start_child(str(flow_run.id))
    out, err = second.communicate(timeout=180)
    assert second.returncode == 0, err[-3000:]
    final = json.loads(out.strip().splitlines()[-1])
    assert final["state"] == "COMPLETED", err[-3000:]
    assert final["result"] == {"run_id": run_id, "status": "SUCCEEDED"}

    after = engine.control.counters()
    delta = {k: v - before.get(k, 0) for k, v in after["requests"].items() if v != before.get(k, 0)}
    # the new process read its run by id, and its flow version once for the names of the steps
    # it shows as task runs (run_graph.py): no listing (search), no trigger
    assert delta == {f"GET /activepieces/v1/flow-runs/{run_id}": 1,
                     f"GET /activepieces/v1/flows/{fid}": 1}, delta
    assert after["runs_per_flow"][fid] == 1
    assert [r["state"] for r in records_of(fid)] == ["ENDED"]


def test_a_short_first_attempt_writes_nothing_and_a_long_run_journals_its_states(
        creds, flows, monkeypatch):
    """A first attempt whose run ends within `record_after` writes no Prefect object (a later
    attempt finds the ended run by its key); a run that outlives it journals SENT, so a crash
    mid-wait knows it was accepted, then ENDED with its run id, so a re-run adopts it by id."""
    import asyncio

    from prefect import flow

    from prefect_imbrace.tasks import atrigger_flow_and_wait

    monkeypatch.setenv("PREFECT_INTEGRATIONS_IMBRACE_RECORD_AFTER", "1")
    short, longer = flows.long(0.2, name="Journal short"), flows.long(4, name="Journal long")

    @flow
    async def both() -> None:
        await atrigger_flow_and_wait(creds, short, {"n": 1})
        await atrigger_flow_and_wait(creds, longer, {"n": 2})

    asyncio.run(both())
    states = {fid: [[r["state"] for r in rs] for rs in stored_states(fid).values()]
              for fid in (short, longer)}
    assert states == {short: [], longer: [["SENT", "ENDED"]]}
    [ended] = records_of(longer)
    assert ended["run_id"] and ended["status"] == "SUCCEEDED"
