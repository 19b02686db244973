"""Fan-out: many runs from one Prefect flow share polling and respect concurrency limits."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from imbrace_flows import ImbraceFlows
from prefect import flow
from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate

from prefect_imbrace.credentials import ImbraceCredentials
from prefect_imbrace.exactly_once.poller import get_poller
from prefect_imbrace.local.control import LocalControl
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


def lone_wait_reads(creds, client, counters, *, pause_s: float = 0.0) -> int:
    """30 runs of other callers end, then (after `pause_s`) one flow waits on its own run of
    the same Imbrace flow: the poller's run reads while it waited."""
    from prefect_imbrace.tasks import trigger_flow_and_wait

    fid = ImbraceFlows(client).echo()
    for i in range(30):
        client.workflows.trigger_flow(fid, {"other": i})
    deadline = time.monotonic() + 30
    while sum(r.is_terminal for r in client.workflows.iter_runs(flow_id=fid)) < 30:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    time.sleep(pause_s)
    poller = get_poller()
    before = dict(poller.stats)

    @flow
    def lone() -> dict:
        return trigger_flow_and_wait(creds, fid, {"mine": True}).payload

    assert lone() == {"echo": {"mine": True}}
    assert counters()["runs_per_flow"][fid] == 31
    return poller.stats["get_calls"] - before["get_calls"]


def test_a_lone_wait_among_other_callers_runs_reads_the_nearest_not_all(creds, engine):
    """A fleet's flow-run processes each wait on one run of the same Imbrace flow: every other
    process's run created since the wait's clock-skew margin is a candidate, and only its trigger
    headers tell whose it is. The poller reads candidates nearest to the send first and stops
    once its run is found (it read every one, 23 GETs per flow run in fleet_60, before)."""
    with creds.get_client() as client:
        gets = lone_wait_reads(creds, client, engine.control.counters)
    assert gets <= 6, gets  # the nearest batch (4) and at most a re-read of the run itself


@contextmanager
def skewed_engine(offset_s: float) -> Iterator[tuple[ImbraceCredentials, LocalControl]]:
    """Imbrace Local in a process of its own whose clock runs `offset_s` off this machine's."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "prefect_imbrace.local", "--port", "0", "--api-key", "skew-key",
         "--control-token", "skew", "--clock-offset", str(offset_s)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        fields = dict(part.split("=", 1) for part in line.split(": ", 1)[1].split())
        yield (ImbraceCredentials(api_key="skew-key", gateway=fields["gateway"]),
               LocalControl(fields["gateway"], "skew"))
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()


@pytest.mark.parametrize("offset_s", [-90.0, 90.0])
def test_a_wait_on_an_engine_whose_clock_is_off_reads_only_the_runs_made_near_its_send(offset_s):
    """The engine's clock 90 s off ours: the poller learns the difference from the listing
    (`EngineClock`) and rules out, unread, the 30 runs other callers made 3 s before its send,
    instead of reading every ended run of the clock-skew margin (120 s)."""
    with skewed_engine(offset_s) as (creds, control), creds.get_client() as client:
        created = client.workflows.get_flow(ImbraceFlows(client).echo()).created
        assert abs((created.timestamp() - time.time()) - offset_s) < 10  # the engine's clock
        # beyond the 2 s margin kept below the learnt bound: the 30 ended 3 s before the send
        gets = lone_wait_reads(creds, client, control.counters, pause_s=3)
    assert gets <= 2, gets  # its own run (and a re-read of it): none of the 30
