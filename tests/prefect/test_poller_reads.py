"""How many run reads the shared poller keeps in flight: as many as the round trip calls for."""

from __future__ import annotations

from prefect_imbrace.exactly_once.poller import RunPoller


def test_reads_stay_few_on_a_fast_link_and_grow_with_the_round_trip():
    poller = RunPoller()
    assert poller._read_limit() == 8  # nothing measured yet: the low end
    poller._observe(0.002)  # loopback: a request is about the client's own CPU cost
    assert poller._read_limit() == 8
    for _ in range(30):  # a 50 ms gateway: the moving average follows
        poller._observe(0.050)
    assert 30 <= poller._read_limit() <= 34
    for _ in range(30):  # a very slow link never opens more than 64 connections
        poller._observe(2.0)
    assert poller._read_limit() == 64
    for _ in range(40):  # and it comes back down when the link does
        poller._observe(0.001)
    assert poller._read_limit() == 8
