"""Retries against injected faults: what is repeated, what never is, and how long we wait.

Waits are asserted as the values the policy handed to the (recording) sleep function, never
as wall-clock time. `engine.control.counters()` proves how often each request reached Local.
"""

from __future__ import annotations

import email.utils
import logging
import time

import httpx
import pytest

from prefect_imbrace.client import AsyncImbraceClient, ImbraceClient
from prefect_imbrace.exceptions import (
    APITimeoutError,
    AuthenticationError,
    ImbraceConfigurationError,
    RequestOutcomeUnknownError,
    ServerError,
)

pytestmark = pytest.mark.asyncio(loop_scope="session")

READ_TIMES_OUT = httpx.Timeout(5.0, read=0.2)
"""Only reading the answer times out (a latency fault holds it 500 ms or more); connecting has
seconds, so on a busy machine every attempt still reaches the engine."""


@pytest.fixture(params=["sync", "async"])
async def rec(request, engine, make_driver):
    """A client whose sleeps are recorded instead of slept: yields (Driver, sleeps)."""
    sleeps: list[float] = []
    kwargs = {
        "api_key": engine.api_key,
        "gateway": engine.url,
        "retry_initial_delay": 0.01,
        "retry_max_delay": 0.04,
    }
    if request.param == "sync":
        with ImbraceClient(sleep=sleeps.append, **kwargs) as client:
            yield make_driver(client.workflows, "sync"), sleeps
    else:

        async def record(seconds: float) -> None:
            sleeps.append(seconds)

        async with AsyncImbraceClient(sleep=record, **kwargs) as client:
            yield make_driver(client.workflows, "async"), sleeps


def hits(engine, key: str) -> int:
    return engine.control.counters()["requests"].get(key, 0)


def runs_of(engine, flow_id: str) -> int:
    return engine.control.counters()["runs_per_flow"].get(flow_id, 0)


async def test_429_retry_after_is_honoured_on_get(fresh, rec, caplog):
    wf, sleeps = rec
    caplog.set_level(logging.DEBUG, logger="prefect_imbrace.client")
    fresh.control.add_fault(r"/v1/folders$", method="GET", status=429, headers={"Retry-After": "1"})
    assert (await wf.list_folders()).data == []
    assert sleeps == [1.0]
    assert hits(fresh, "GET /activepieces/v1/folders") == 2
    retry_logs = [r for r in caplog.records if hasattr(r, "imbrace_retry_wait")]
    assert [(r.imbrace_retry_wait, r.imbrace_retry_reason) for r in retry_logs] == [(1.0, "429")]


async def test_retry_after_ms_and_http_date(fresh, rec):
    wf, sleeps = rec
    fresh.control.add_fault(
        r"/v1/tables$", method="GET", status=503, headers={"retry-after-ms": "1500"}
    )
    await wf.list_tables()
    future = email.utils.formatdate(time.time() + 30, usegmt=True)
    fresh.control.add_fault(
        r"/v1/tables$", method="GET", status=503, headers={"retry-after": future}
    )
    await wf.list_tables()
    assert sleeps[0] == 1.5
    assert 25 <= sleeps[1] <= 30  # an HTTP date 30 s ahead (whole seconds), against the clock


async def test_retry_after_is_honoured_on_later_attempts_too(fresh, rec):
    """Attempt 1's wait is computed before tenacity takes over, attempt 2's by tenacity: same rule."""
    wf, sleeps = rec
    fresh.control.add_fault(
        r"/v1/tables$", method="GET", status=429, headers={"retry-after-ms": "1500"}, times=2
    )
    await wf.list_tables()
    assert sleeps == [1.5, 1.5]
    assert hits(fresh, "GET /activepieces/v1/tables") == 3


async def test_429_on_a_webhook_post_is_retried_once_processed_once(fresh, rec, echo_flow, client):
    wf, sleeps = rec
    flow_id = echo_flow(client)
    fresh.control.add_fault(
        rf"/v1/webhooks/{flow_id}/sync$", method="POST", status=429, headers={"retry-after": "1"}
    )
    reply = await wf.trigger_flow_sync(flow_id=flow_id, payload={"n": 3})
    assert reply.ok and reply.body["n"] == 3
    assert sleeps == [1.0]
    assert hits(fresh, f"POST /activepieces/v1/webhooks/{flow_id}/sync") == 2
    assert runs_of(fresh, flow_id) == 1


async def test_503_on_post_is_retried(fresh, rec):
    wf, sleeps = rec
    fresh.control.add_fault(r"/v1/folders$", method="POST", status=503, times=2)
    folder = await wf.create_folder(display_name="once")
    assert len(sleeps) == 2 and sleeps[0] <= sleeps[1]
    assert hits(fresh, "POST /activepieces/v1/folders") == 3
    assert [f.id for f in (await wf.list_folders()).data] == [folder.id]


async def test_500_on_get_is_retried_with_backoff(fresh, rec, echo_flow, client):
    wf, sleeps = rec
    flow_id = echo_flow(client)
    fresh.control.add_fault(rf"/v1/flows/{flow_id}$", method="GET", status=500, times=3)
    assert (await wf.get_flow(flow_id=flow_id)).id == flow_id
    assert hits(fresh, f"GET /activepieces/v1/flows/{flow_id}") == 4
    assert len(sleeps) == 3
    for attempt, wait in enumerate(sleeps, start=1):
        backoff = min(0.01 * 2 ** (attempt - 1), 0.04)
        assert 0.75 * backoff <= wait <= backoff


async def test_500_on_post_is_never_repeated(fresh, rec, echo_flow, client):
    wf, sleeps = rec
    flow_id = echo_flow(client)
    fresh.control.add_fault(rf"/v1/webhooks/{flow_id}$", method="POST", status=500)
    with pytest.raises(ServerError):
        await wf.trigger_flow(flow_id=flow_id, payload={"n": 1})
    assert sleeps == []
    assert hits(fresh, f"POST /activepieces/v1/webhooks/{flow_id}") == 1


@pytest.mark.parametrize("sync_route", [False, True], ids=["async-webhook", "sync-webhook"])
async def test_lost_response_on_a_trigger_is_never_resent(
    fresh, rec, echo_flow, client, eventually, sync_route
):
    wf, sleeps = rec
    flow_id = echo_flow(client)
    path = f"/v1/webhooks/{flow_id}" + ("/sync" if sync_route else "")
    fresh.control.add_fault(path + "$", method="POST", lost_response=True)
    call = wf.trigger_flow_sync if sync_route else wf.trigger_flow
    with pytest.raises(RequestOutcomeUnknownError) as info:
        await call(flow_id=flow_id, payload={"n": 9})
    assert "NOT sent again" in str(info.value)
    assert sleeps == []
    assert hits(fresh, "POST /activepieces" + path) == 1
    # the engine did process it: exactly one run exists
    await eventually(lambda: runs_of(fresh, flow_id) == 1)


async def test_lost_response_on_create_is_not_duplicated(fresh, rec):
    wf, _ = rec
    fresh.control.add_fault(r"/v1/flows$", method="POST", lost_response=True)
    with pytest.raises(RequestOutcomeUnknownError):
        await wf.create_flow(display_name="maybe")
    assert hits(fresh, "POST /activepieces/v1/flows") == 1
    assert len((await wf.list_flows()).data) == 1


async def test_lost_response_on_get_is_retried(fresh, rec):
    wf, sleeps = rec
    fresh.control.add_fault(r"/v1/folders$", method="GET", lost_response=True)
    assert (await wf.list_folders()).data == []
    assert len(sleeps) == 1
    assert hits(fresh, "GET /activepieces/v1/folders") == 2


async def test_read_timeout_on_a_trigger_is_outcome_unknown(
    fresh, rec, echo_flow, client, eventually
):
    wf, sleeps = rec
    flow_id = echo_flow(client)
    fresh.control.add_fault(rf"/v1/webhooks/{flow_id}$", method="POST", latency_ms=600)
    with pytest.raises(RequestOutcomeUnknownError):
        await wf.trigger_flow(flow_id=flow_id, payload={"n": 1}, timeout=READ_TIMES_OUT)
    assert sleeps == []
    # counted when the engine takes the request up, which on a busy machine can follow the
    # client's read timeout
    assert await eventually(lambda: hits(fresh, f"POST /activepieces/v1/webhooks/{flow_id}") == 1)
    assert (
        runs_of(fresh, flow_id) <= 1
    )  # processed at most once (Local drops it if we hung up first)


async def test_read_timeout_on_get_is_retried_then_reported(fresh, rec, eventually):
    wf, sleeps = rec
    fresh.control.add_fault(r"/v1/tables$", method="GET", latency_ms=500, times=4)
    with pytest.raises(APITimeoutError, match="4 attempts"):
        await wf.list_tables(timeout=READ_TIMES_OUT)
    assert len(sleeps) == 3
    # Local counts a request when it takes it up, which on a busy machine can follow the
    # client's read timeout of the last attempt.
    assert await eventually(lambda: hits(fresh, "GET /activepieces/v1/tables") == 4)


class CountingGate:
    """A request gate that only counts how often a request passed it."""

    def __init__(self) -> None:
        self.passed = 0

    def acquire(self) -> None:
        self.passed += 1

    async def aacquire(self) -> None:
        self.passed += 1


@pytest.mark.parametrize("kind", ["sync", "async"])
@pytest.mark.parametrize("max_retries", [0, 1, 3])
async def test_every_attempt_passes_the_gate_and_is_logged_by_its_number(
    fresh, make_driver, caplog, kind, max_retries
):
    """Attempts 2+ run under tenacity, the first outside it: numbering, gate and stop still agree."""
    caplog.set_level(logging.DEBUG, logger="prefect_imbrace.client")
    gate, sleeps = CountingGate(), []
    kwargs = {"api_key": fresh.api_key, "gateway": fresh.url, "request_gate": gate,
              "max_retries": max_retries, "retry_initial_delay": 0.01, "retry_max_delay": 0.04}
    fresh.control.add_fault(r"/v1/folders$", method="GET", status=503, times=10)

    async def record(seconds: float) -> None:
        sleeps.append(seconds)

    with pytest.raises(ServerError) as info:
        if kind == "sync":
            with ImbraceClient(sleep=sleeps.append, **kwargs) as client:
                await make_driver(client.workflows, kind).list_folders()
        else:
            async with AsyncImbraceClient(sleep=record, **kwargs) as aclient:
                await make_driver(aclient.workflows, kind).list_folders()
    assert (f"after {max_retries} retries" in str(info.value)) == (max_retries > 0)
    assert gate.passed == hits(fresh, "GET /activepieces/v1/folders") == max_retries + 1
    assert len(sleeps) == max_retries
    logged = [r for r in caplog.records if hasattr(r, "imbrace_retry_attempt")]
    assert [r.imbrace_retry_attempt for r in logged] == list(range(1, max_retries + 1))
    assert [r.imbrace_retry_wait for r in logged] == sleeps
    for attempt, wait in enumerate(sleeps, start=1):
        backoff = min(0.01 * 2 ** (attempt - 1), 0.04)
        assert 0.75 * backoff <= wait <= backoff


async def test_resolve_project_id_falls_back_to_first_flow(fresh, engine):
    with ImbraceClient(api_key=engine.api_key, gateway=engine.url, retry_initial_delay=0) as client:
        flow = client.workflows.create_flow(display_name="anchor")
        engine.control.add_fault(r"/v1/users/projects/", method="GET", status=404)
        assert client.workflows.resolve_project_id() == flow.project_id == engine.project_id
    engine.control.reset()
    with ImbraceClient(api_key=engine.api_key, gateway=engine.url, retry_initial_delay=0) as client:
        engine.control.add_fault(r"/v1/users/projects/", method="GET", status=404)
        with pytest.raises(ImbraceConfigurationError, match="project_id="):
            client.workflows.resolve_project_id()
        engine.control.add_fault(
            r"/v1/users/projects/", method="GET", status=401, body={"message": "Unauthorized"}
        )
        with pytest.raises(AuthenticationError):
            client.workflows.resolve_project_id()
