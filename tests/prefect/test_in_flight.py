"""How many requests our client keeps in flight (the poller's reads, the triggers of a fan-out):
as many as the round trip calls for, never hundreds queued in httpcore's pool."""

from __future__ import annotations

import asyncio

from prefect_imbrace.exactly_once.clients import InFlight
from prefect_imbrace.exactly_once.poller import RunPoller


def test_the_limit_stays_low_on_a_fast_link_and_grows_with_the_round_trip():
    limit = RunPoller()._reads
    assert limit.limit() == 8  # nothing measured yet: the low end
    limit.observe(0.080)  # a first call also opens its connection: not trusted yet
    assert limit.limit() == 8
    for _ in range(InFlight.TRUSTED_AFTER):  # loopback: a request is about the client's own CPU
        limit.observe(0.002)
    assert limit.limit() == 8
    for _ in range(InFlight.WINDOW):  # a 50 ms gateway, once the fast calls left the window
        limit.observe(0.050)
    assert 30 <= limit.limit() <= 34
    for _ in range(InFlight.WINDOW):  # a very slow link never opens more than 64 connections
        limit.observe(2.0)
    assert limit.limit() == 64
    limit.observe(0.001)  # and it comes back down with the first fast call
    assert limit.limit() == 8
    for seconds in (0.002, 0.3, 0.4, 0.2):  # a busy loop's slow calls do not raise it
        limit.observe(seconds)
    assert limit.limit() == 8


def test_calls_beyond_the_limit_wait_their_turn_and_all_complete():
    async def main() -> tuple[int, list[int]]:
        limit = InFlight(ceiling=3)
        running, high = 0, 0

        async def work(i: int) -> int:
            nonlocal running, high
            running += 1
            high = max(high, running)
            await asyncio.sleep(0.01)
            running -= 1
            return i

        results = await asyncio.gather(*(limit.call(work(i)) for i in range(40)))
        return high, results

    high, results = asyncio.run(main())
    assert high == 3  # the ceiling (below the low end of 8) holds
    assert results == list(range(40))
