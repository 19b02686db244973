"""Trigger records on the Prefect API: written only for runs that outlive `record_after`, batched
into few Variables named after their flow run, and removed once that flow run has been final
for `record_retention`, by the next process that writes one (nobody runs anything by hand)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from prefect import flow
from prefect.client.orchestration import get_client
from prefect.context import FlowRunContext
from test_durable_record import record_variables, stored_states

from prefect_imbrace.exactly_once import pruning
from prefect_imbrace.tasks import atrigger_flow_and_wait, atrigger_many_and_wait


def _variables_of(flow_id: str) -> list[dict]:
    return [v for v in record_variables()
            if any(r.get("flow_id") == flow_id for r in v["value"].get("records", [v["value"]]))]


def test_a_fan_out_of_short_runs_leaves_records_only_for_runs_that_outlived_the_threshold(
        creds, flows, monkeypatch):
    monkeypatch.setenv("PREFECT_INTEGRATIONS_IMBRACE_RECORD_AFTER", "1.5")
    short, longer = flows.long(0.2, name="Lifetime short"), flows.long(4, name="Lifetime long")

    @flow
    async def fan_out() -> str:
        await atrigger_many_and_wait(creds, short, [{"i": i} for i in range(40)], max_concurrent=40)
        await asyncio.gather(*(atrigger_flow_and_wait(creds, longer, {"i": i}) for i in range(3)))
        return str(FlowRunContext.get().flow_run.id)

    flow_run_id = asyncio.run(fan_out())
    assert _variables_of(short) == []
    kept = _variables_of(longer)
    assert 1 <= len(kept) <= 3  # the 3 long runs' states, batched into the journal
    assert {len(states) for states in stored_states(longer).values()} == {2}  # SENT, ENDED
    assert all(v["name"].startswith(f"imbrace-{flow_run_id}-{longer.lower()}-") for v in kept)


def test_records_outlive_a_running_flow_run_and_go_after_its_retention(creds, flows, monkeypatch):
    monkeypatch.setenv("PREFECT_INTEGRATIONS_IMBRACE_RECORD_AFTER", "0.5")
    fid = flows.long(2, name="Lifetime pruned")

    async def prune(retention: timedelta) -> int:
        async with get_client() as client:
            return await pruning.prune_records(client, retention)

    @flow
    async def still_running() -> int:
        await atrigger_flow_and_wait(creds, fid, {"n": 1})
        await asyncio.sleep(1.5)  # the journal is written within a second
        return await prune(timedelta(0))  # this flow run is not final: its records stay

    asyncio.run(still_running())
    assert _variables_of(fid)

    # the retention runs out; the next process that writes a record prunes, in the background
    monkeypatch.setenv("PREFECT_INTEGRATIONS_IMBRACE_RECORD_RETENTION", "0")
    monkeypatch.setattr(pruning, "_last_prune", 0.0)  # as if this were a new process
    other = flows.long(1.5, name="Lifetime trigger")  # outlives record_after: it writes

    @flow
    async def later() -> None:
        await atrigger_flow_and_wait(creds, other, {"n": 2})
        for _ in range(50):
            if not await asyncio.to_thread(_variables_of, fid):
                return
            await asyncio.sleep(0.2)

    asyncio.run(later())
    assert _variables_of(fid) == []
