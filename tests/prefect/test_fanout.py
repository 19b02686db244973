"""Fan-out: many runs from one Prefect flow share polling and respect concurrency limits."""

from __future__ import annotations

import asyncio

from prefect import flow
from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate

from prefect_imbrace.exactly_once.poller import get_poller
from prefect_imbrace.tasks import atrigger_many_and_wait, trigger_many_and_wait

N = 40


def test_many_runs_share_one_list_call_per_tick(creds, flows, engine):
    fid = flows.echo()
    poller = get_poller()
    before = dict(poller.stats)

    @flow
    def parent():
        return trigger_many_and_wait(creds, fid, [{"i": i} for i in range(N)], max_concurrent=N)

    results = parent()
    assert [r.payload["echo"]["i"] for r in results] == list(range(N))
    assert engine.control.counters()["runs_per_flow"][fid] == N
    ticks = poller.stats["ticks"] - before["ticks"]
    lists = poller.stats["list_calls"] - before["list_calls"]
    gets = poller.stats["get_calls"] - before["get_calls"]
    assert lists == ticks  # one list call per flow and tick (one page), whatever N is
    # GETs: correlation reads of runs still QUEUED may repeat, finished ones never do
    assert gets <= 3 * N


def test_global_concurrency_limit_is_taken_per_run(creds, flows, engine):
    fid = flows.echo()

    async def make_limit():
        async with get_client() as client:
            await client.create_global_concurrency_limit(
                GlobalConcurrencyLimitCreate(name="imbrace-test-limit", limit=2)
            )

    asyncio.run(make_limit())

    @flow
    async def parent():
        return await atrigger_many_and_wait(
            creds, fid, [{"i": i} for i in range(6)], concurrency_limit="imbrace-test-limit"
        )

    results = asyncio.run(parent())
    assert [r.payload["echo"]["i"] for r in results] == list(range(6))

    async def slots_in_use():
        async with get_client() as client:
            return (await client.read_global_concurrency_limit_by_name("imbrace-test-limit")).active_slots

    assert asyncio.run(slots_in_use()) == 0  # every slot was given back
