"""Recovery paths: a parent flow re-run after a crash, sync replies later than the engine's
wait, and an engine restart while Prefect is waiting."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from imbrace_flows import ImbraceFlows
from prefect import flow
from prefect.context import FlowRunContext
from prefect.runtime import flow_run as current_flow_run
from reliability_figures import record_fault, record_outcome
from reliability_prefect import fan_out, state_counts, task_runs
from reliability_support import (
    API_KEY,
    KEY_HEADER,
    TERMINAL,
    Ledger,
    exactly_once,
    per_fault,
)

from prefect_imbrace.credentials import ImbraceCredentials
from prefect_imbrace.local import ImbraceLocal
from prefect_imbrace.tasks import atrigger_flow_and_wait, atrigger_flow_sync


async def until(check: Callable[[], Any], limit_s: float = 60.0) -> Any:
    """Poll a blocking check in a thread until it is truthy (bounded)."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        value = await asyncio.to_thread(check)
        if value:
            return value
        await asyncio.sleep(0.1)
    raise AssertionError("condition not reached in time")


def _started(ledger: Ledger, flow_id: str, m: int) -> bool:
    """All M runs exist and none is still QUEUED (a QUEUED one would be cancelled by the crash)."""
    runs = ledger.runs(flow_id)
    return len(runs) == m and all(r["status"] != "QUEUED" for r in runs)


def _finished(ledger: Ledger, flow_id: str, m: int) -> bool:
    runs = ledger.runs(flow_id)
    return len(runs) >= m and all(r["status"] in TERMINAL for r in runs)


async def test_parent_flow_rerun_after_crash_adopts_the_runs(engine, creds, flows, ledger, monkeypatch):
    """Attempt 1 triggers M runs and dies while waiting; the re-run (same flow run, run_count
    2) derives the same keys, finds the runs and waits for them instead of sending again."""
    m = per_fault()
    monkeypatch.setenv("PREFECT_INTEGRATIONS_IMBRACE_TRIGGER_CONCURRENCY", str(m))
    flow_id = flows.slow(2.0)

    @flow(name="reliability-crashing-parent", retries=1, retry_delay_seconds=0)
    async def parent() -> str:
        attempt = FlowRunContext.get().flow_run.run_count
        pending = [asyncio.ensure_future(atrigger_flow_and_wait(creds, flow_id, {"i": i}, return_state=True))
                   for i in range(m)]
        if attempt == 1:
            await until(lambda: _started(ledger, flow_id, m))
            for job in pending:
                job.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
            raise RuntimeError("simulated crash while waiting")
        await asyncio.gather(*pending)
        return str(current_flow_run.id)

    flow_run_id = await asyncio.wait_for(parent(), timeout=120)
    rerun = [r for r in await task_runs(flow_run_id) if r.flow_run_run_count == 2]
    counted, duplicates, lost = exactly_once(ledger.keys([flow_id]), m)
    record_fault("parent flow re-run after a crash mid-wait", m, counted, duplicates, lost,
                 state_counts(rerun))
    assert (counted, duplicates, lost) == (m, 0, 0)
    assert state_counts(rerun) == {"Completed": m}


async def test_sync_reply_later_than_the_engine_wait_is_no_reply(engine, creds, flows, ledger):
    """The engine stops holding a sync webhook after its wait (30 s; 1 s on this Local): the
    task completes with outcome NO_REPLY (204) and the run still finishes, once."""
    m = per_fault()
    flow_id = flows.slow(1.5)

    @flow(name="reliability-sync-no-reply")
    async def parent() -> list[Any]:
        states = await asyncio.gather(*(
            atrigger_flow_sync(creds, flow_id, {"i": i}, headers={KEY_HEADER: f"sync-{i}"},
                               return_state=True)
            for i in range(m)
        ))
        return [(s.name, (await s.aresult()).outcome.value, (await s.aresult()).status_code)
                for s in states]

    replies = await parent()
    assert replies == [("Completed", "NO_REPLY", 204)] * m
    record_outcome("sync reply later than the engine's wait (trigger_flow_sync)", "Completed",
                   "returns SyncReply(outcome=NO_REPLY, status_code=204); the run goes on")
    await until(lambda: _finished(ledger, flow_id, m))
    counts = ledger.keys([flow_id])
    counted, duplicates, lost = exactly_once(counts, m)
    record_fault("sync reply later than the engine's wait", m, counted, duplicates, lost,
                 {"Completed": m})
    assert set(counts) == {f"sync-{i}" for i in range(m)}
    assert (counted, duplicates, lost) == (m, 0, 0)
    assert {r["status"] for r in ledger.runs(flow_id)} == {"SUCCEEDED"}


async def test_engine_restart_mid_wait_on_the_same_address(tmp_path, monkeypatch):
    """The engine process restarts behind the same gateway address (a redeploy) while Prefect
    waits: the persistent store keeps the runs, the restarted engine re-queues the RUNNING ones,
    and the waits ride out the outage as transient polling errors."""
    m = per_fault()
    monkeypatch.setenv("PREFECT_INTEGRATIONS_IMBRACE_TRIGGER_CONCURRENCY", str(m))
    db = str(tmp_path / "engine.sqlite")
    first = ImbraceLocal(api_keys={API_KEY: "org_local"}, db=db).start()
    second: ImbraceLocal | None = None
    try:
        creds = ImbraceCredentials(api_key=API_KEY, gateway=first.url, timeout=5, max_retries=3)
        with creds.get_client() as client:
            flow_id = ImbraceFlows(client).slow(2.0)
        ledger = Ledger(first.engine_url, API_KEY)
        waiting = asyncio.ensure_future(fan_out(creds, flow_id, m))
        await until(lambda: _started(ledger, flow_id, m))
        await asyncio.to_thread(first.stop)
        await asyncio.sleep(1.0)  # an outage the pollers must ride out
        second = ImbraceLocal(api_keys={API_KEY: "org_local"}, db=db, port=first.port)
        await asyncio.to_thread(second.start)
        flow_run_id = await asyncio.wait_for(waiting, timeout=120)
        runs = await task_runs(flow_run_id)
        counted, duplicates, lost = exactly_once(ledger.keys([flow_id]), m)
        ledger.close()
        record_fault("engine restart mid-wait (persistent store, same address)", m, counted,
                     duplicates, lost, state_counts(runs))
        assert (counted, duplicates, lost) == (m, 0, 0)
        assert state_counts(runs) == {"Completed": m}
    finally:
        first.stop()
        if second is not None:
            second.stop()
