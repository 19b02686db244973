"""The Prefect API as a fault: its server is killed in the middle of a fan-out, kept down for
10 s, and started again on the same port with the same database.

A real `prefect server start` (SQLite, its own PREFECT_HOME) serves one flow run that runs in a
process of its own (outage_child.py) with Prefect's default client settings. Before the
outage it fans out both ways (tasks, and one `trigger_many_and_wait`) plus triggers with an
explicit key, all on Imbrace runs of 20 s; during it, explicit keys asked twice (claims on the
Prefect API), first attempts whose runs outlive `record_after` (journal writes) and a
`trigger_many_and_wait`. Counted on the engine: one run per logical trigger, none twice; the
flow run ends Completed with every result; every trigger's journal reaches the restarted API
with its last state; the process logs show the outage and no secret. The figures are in
docs/reliability.md ("The Prefect API as a fault"); run with `-s` to print them.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from outage_child import fan_out_through_outage
from reliability_support import API_KEY, SECRETS, Ledger, exactly_once

from prefect_imbrace.exactly_once.record import RECORD_TAG
from prefect_imbrace.local import ImbraceLocal
from prefect_imbrace.testing_deployments import PrefectServer, temporary_prefect_server

pytestmark = pytest.mark.slow

CHILD = Path(__file__).with_name("outage_child.py")
N, KEYED = 20, 5
RUN_S = 20.0
"""How long each Imbrace run stays RUNNING: the outage falls inside the waits."""
DOWN_S = 10.0
"""From the kill to the command that starts the server again (then its start-up)."""
BEFORE_OUTAGE_S = 3.0
"""From the first wave's last run reaching the engine to the kill."""
LOGICAL = {"tasks": N, "many": N, "keyed": KEYED, "claimed": KEYED, "journaled": KEYED,
           "many_during": KEYED}


@pytest.fixture
def outage_server() -> Iterator[PrefectServer]:
    """A Prefect server of this test alone (the session's is shared and must stay up)."""
    with temporary_prefect_server(prefix="prefect-outage-") as server:
        yield server


def _child_env(server: PrefectServer) -> dict[str, str]:
    env = {**server.env,
           "IMBRACE_API_KEY": API_KEY,
           "PREFECT_INTEGRATIONS_IMBRACE_RECORD_AFTER": "2",
           "PREFECT_INTEGRATIONS_IMBRACE_POLL_INTERVAL": "0.2",
           "PREFECT_INTEGRATIONS_IMBRACE_MAX_POLL_INTERVAL": "1.0",
           "PREFECT_INTEGRATIONS_IMBRACE_TRIGGER_CONCURRENCY": "100",  # every trigger at once
           # Prefect logs its client's retries at DEBUG: they are the outage's witness
           "PREFECT_LOGGING_LOGGERS_PREFECT_CLIENT_LEVEL": "DEBUG"}
    env.pop("PREFECT_CLIENT_MAX_RETRIES", None)  # Prefect's default client, as users run it
    return env


def _journal(server: PrefectServer) -> dict[str, dict[str, str]]:
    """Imbrace flow -> key -> the newest state its trigger records hold on the Prefect API."""
    newest: dict[tuple[str, str], dict[str, Any]] = {}
    variables: list[dict[str, Any]] = []
    with server.client() as client:
        while not variables or len(variables) % 200 == 0:
            page = client.request("POST", "/variables/filter", json={
                "variables": {"tags": {"all_": [RECORD_TAG]}}, "limit": 200,
                "offset": len(variables)}).json()
            if not page:
                break
            variables += page
    for variable in variables:
        value = variable["value"]
        for record in value.get("records", [value]):
            seen = newest.get((record["flow_id"], record["key"]))
            if seen is None or record["updated"] > seen["updated"]:
                newest[(record["flow_id"], record["key"])] = record
    states: dict[str, dict[str, str]] = {}
    for (flow_id, key), record in newest.items():
        states.setdefault(flow_id, {})[key] = record["state"]
    return states


def _task_run_states(server: PrefectServer, flow_run_id: Any, settle_s: float = 30.0) -> dict[str, int]:
    """State name -> task runs of the flow run, as the API shows them once they settled (task
    run states reach it as events, asynchronously; bounded)."""
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    deadline = time.monotonic() + settle_s
    while True:
        with server.client() as client:
            runs = client.read_task_runs(
                flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])), limit=200)
        if all(r.state and r.state.is_final() for r in runs) or time.monotonic() > deadline:
            return dict(Counter(r.state.name if r.state else "no state" for r in runs))
        time.sleep(1.0)


def _wait_for(predicate: Any, what: str, limit: float, child: subprocess.Popen[Any]) -> None:
    deadline = time.monotonic() + limit
    while not predicate():
        if child.poll() is not None:
            raise AssertionError(f"the flow-run process ended ({child.returncode}) before {what}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def test_prefect_api_down_for_10s_mid_fan_out_loses_nothing_and_sends_nothing_twice(
        outage_server: PrefectServer, engine: ImbraceLocal, flows: Any, ledger: Ledger,
        tmp_path: Path) -> None:
    server = outage_server
    ids = {group: flows.long(RUN_S, name=f"Outage {group}") for group in LOGICAL}
    go_file = tmp_path / "api-down"
    with server.client() as client:
        flow_run = client.create_flow_run(fan_out_through_outage, parameters={
            "gateway": engine.url, "flows": ids, "n": N, "keyed": KEYED, "go_file": str(go_file)})
    out_path, err_path = tmp_path / "child.out", tmp_path / "child.err"
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        child = subprocess.Popen([sys.executable, str(CHILD), str(flow_run.id)],
                                 env=_child_env(server), stdout=out, stderr=err,
                                 stdin=subprocess.DEVNULL, cwd=CHILD.parent)
    try:
        def runs() -> dict[str, int]:
            return engine.control.counters()["runs_per_flow"]

        first_wave = ("tasks", "many", "keyed")
        _wait_for(lambda: all(runs().get(ids[g], 0) >= LOGICAL[g] for g in first_wave),
                  "the first wave's runs", 180, child)
        time.sleep(BEFORE_OUTAGE_S)
        running_at_kill = sum(r["status"] == "RUNNING" for g in first_wave
                              for r in ledger.runs(ids[g]))
        killed = time.monotonic()
        server.stop_api()
        go_file.touch()  # the second wave starts now, with the API down
        time.sleep(DOWN_S)
        server.start_api()
        down_s = time.monotonic() - killed
        child.wait(timeout=600)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(timeout=30)
    stdout, stderr = out_path.read_text(errors="replace"), err_path.read_text(errors="replace")
    assert child.returncode == 0, stderr[-4000:]
    final = json.loads(stdout.strip().splitlines()[-1])
    assert final["state"] == "COMPLETED", (final, stderr[-4000:])

    # every wait went on to its own run's end
    result = final["result"]
    for group, count in LOGICAL.items():
        calls = result[group]
        expected = list(range(count)) * (2 if group == "claimed" else 1)
        assert [status for _, status, _ in calls] == ["SUCCEEDED"] * len(expected), group
        assert [str(output["n"]) for _, _, output in calls] == [str(i) for i in expected], group
    claimed = [run_id for run_id, _, _ in result["claimed"]]
    assert claimed[:KEYED] == claimed[KEYED:]  # one key asked twice: one run

    # one run per logical trigger, counted by the engine and by key, none twice
    counted = engine.control.counters()["runs_per_flow"]
    assert {g: counted.get(ids[g], 0) for g in LOGICAL} == LOGICAL
    figures = {g: exactly_once(ledger.keys([ids[g]]), LOGICAL[g]) for g in LOGICAL}
    assert all(duplicates == 0 and lost == 0 for _, duplicates, lost in figures.values()), figures

    with server.client() as client:
        state = client.read_flow_run(flow_run.id).state
    assert state is not None and state.is_completed(), state
    # every run outlived record_after, so each trigger's journal reached the restarted API
    # with its last state: no journal write was lost to the outage
    journal = _journal(server)
    stored = {g: dict(Counter(journal.get(ids[g], {}).values())) for g in LOGICAL}
    assert stored == {g: {"ENDED": n} for g, n in LOGICAL.items()}, stored

    # the outage was real: Prefect's client retried through it, and claims waited for it
    retries = stderr.count("Encountered retryable exception during request")
    waits = stderr.count("The Prefect API did not answer while")
    assert retries > 0 and waits > 0, stderr[-4000:]
    for text in (stdout, stderr, server.log()):
        for secret in SECRETS:
            assert secret not in text
    task_runs = _task_run_states(server, flow_run.id)  # a figure of Prefect's, not asserted
    lost_events = stderr.count("event data (including task run data) may be lost")
    skipped_artifacts = stderr.count("prefect_imbrace.observability - Could not")
    print(f"outage: {sum(LOGICAL.values())} logical triggers, {sum(counted.values())} runs, "
          f"{running_at_kill} first-wave runs RUNNING at the kill, API down {down_s:.1f} s "
          f"(kill to healthy), {retries} client retries logged, {waits} claims or reads waited; "
          f"figures {figures}; task runs on the API {task_runs}, events client warnings "
          f"{lost_events}, artifacts skipped {skipped_artifacts}")
