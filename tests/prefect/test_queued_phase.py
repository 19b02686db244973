"""The waiters handle the engine's QUEUED phase: a run that waits in the queue before it runs
is found, followed and returned once, never triggered twice (Imbrace Local queues each async run
for `queue_delay`, 0.1 s by default; 3 s here)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from imbrace_flows import ImbraceFlows
from imbrace_prefect_helpers import SECRET_KEY
from prefect import flow

from prefect_imbrace.credentials import ImbraceCredentials
from prefect_imbrace.local import ImbraceLocal
from prefect_imbrace.tasks import trigger_flow_and_wait, trigger_many_and_wait


@pytest.fixture(scope="module")
def queued_engine() -> Iterator[ImbraceLocal]:
    with ImbraceLocal(api_keys={SECRET_KEY: "org_local"}, queue_delay=3.0) as engine:
        yield engine


def test_a_run_queued_for_seconds_is_waited_for_once(queued_engine):
    creds = ImbraceCredentials(api_key=SECRET_KEY, gateway=queued_engine.url, timeout=10, max_retries=1)
    with creds.get_client() as client:
        fid = ImbraceFlows(client).echo("Queued echo")

    @flow
    def parent():
        one = trigger_flow_and_wait(creds, fid, {"n": 1})
        many = trigger_many_and_wait(creds, fid, [{"n": 2}, {"n": 3}])
        return one, many

    one, many = parent()
    assert one.status == "SUCCEEDED" and one.payload["echo"] == {"n": 1}
    assert [r.payload["echo"] for r in many] == [{"n": 2}, {"n": 3}]
    assert queued_engine.control.counters()["runs_per_flow"][fid] == 3  # each sent once
