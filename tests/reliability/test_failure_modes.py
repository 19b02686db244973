"""Each way a trigger-and-wait can fail ends in a Failed Prefect state whose message says what
happened and what to do. The observed state and message go into docs/reliability.md."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from reliability_figures import record_outcome
from reliability_support import API_KEY

from prefect_imbrace.client import create_webhook_flow
from prefect_imbrace.client import operations as ops
from prefect_imbrace.credentials import ImbraceCredentials
from prefect_imbrace.exceptions import (
    APIConnectionError,
    AuthenticationError,
    FlowDisabledError,
    FlowGoneError,
    ImbraceRunCancelled,
    ImbraceRunFailed,
    ImbraceRunWaitTimeout,
    RateLimitError,
    ServerError,
)
from prefect_imbrace.flows import trigger_flow_and_wait_for_completion


async def _outcome(mode: str, creds: ImbraceCredentials, flow_id: str, **kwargs: Any) -> tuple[Any, Any]:
    state = await asyncio.to_thread(
        trigger_flow_and_wait_for_completion, creds, flow_id, {"case": mode}, return_state=True, **kwargs
    )
    exc = await state.aresult(raise_on_failure=False)
    record_outcome(mode, state.name, state.message or "")
    return state, exc


async def _paused_run(ledger, flow_id: str) -> str:
    for _ in range(300):
        runs = await asyncio.to_thread(ledger.runs, flow_id)
        if runs and runs[0]["status"] == "PAUSED":
            return runs[0]["id"]
        await asyncio.sleep(0.05)
    raise AssertionError("the run never paused")


async def test_run_failed_names_the_step(creds, flows):
    state, exc = await _outcome("Imbrace run FAILED", creds, flows.failing())
    assert state.is_failed() and isinstance(exc, ImbraceRunFailed)
    assert "ended FAILED at step 'step_1'" in state.message


async def test_run_with_a_failure_status_set_by_the_engine(creds, flows, engine, ledger):
    fid = flows.paused()
    pending = asyncio.ensure_future(_outcome("Imbrace run QUOTA_EXCEEDED", creds, fid))
    engine.control.set_run_status(await _paused_run(ledger, fid), "QUOTA_EXCEEDED")
    state, exc = await pending
    assert state.is_failed() and isinstance(exc, ImbraceRunFailed)
    assert "ended QUOTA_EXCEEDED" in state.message


async def test_cancelled_run(creds, flows, ledger):
    fid = flows.paused()
    pending = asyncio.ensure_future(_outcome("Imbrace run CANCELED", creds, fid))
    run_id = await _paused_run(ledger, fid)
    with creds.get_client() as client:
        client.workflows.cancel_runs(flow_run_ids=[run_id])
    state, exc = await pending
    assert state.is_failed() and isinstance(exc, ImbraceRunCancelled)
    assert "was cancelled" in state.message


async def test_paused_longer_than_allowed(creds, flows):
    state, exc = await _outcome("Imbrace run PAUSED longer than paused_timeout", creds, flows.paused(),
                                paused_timeout=1)
    assert state.is_failed() and isinstance(exc, ImbraceRunWaitTimeout)
    assert "stayed PAUSED longer than 1s" in state.message


async def test_overall_wait_limit(creds, flows):
    """The engine records a run's steps (so its trigger headers, so its key) when the run ends:
    a wait that runs out while the run is still RUNNING ends before it could be told apart."""
    state, exc = await _outcome("wait timeout (run still RUNNING)", creds, flows.slow(8), timeout=3)
    assert state.is_failed() and isinstance(exc, ImbraceRunWaitTimeout)
    assert "Stopped waiting" in state.message and "3s" in state.message


async def test_no_run_appears_for_the_trigger(creds, flows):
    """The flow's webhook auth rejects the call: answered 200, but no run is created."""
    guard = ops.catch_webhook(
        auth_type="header", auth_fields={"headerName": "x-guard", "headerValue": "expected"})
    with creds.get_client() as client:
        flow = create_webhook_flow(
            client, "Guarded", [ops.return_response("step_1", body={})], trigger=guard)
    state, exc = await _outcome("no run appears (webhook auth filtered the call)", creds, flow.id, timeout=2)
    assert state.is_failed() and isinstance(exc, ImbraceRunWaitTimeout)
    assert "webhook auth" in state.message


async def test_disabled_flow(creds, flows):
    fid = flows.echo()
    with creds.get_client() as client:
        client.workflows.apply_flow_operation(flow_id=fid, operation=ops.change_status("DISABLED"))
    state, exc = await _outcome("flow disabled (webhook 404)", creds, fid)
    assert state.is_failed() and isinstance(exc, FlowDisabledError)
    assert "is disabled" in state.message


async def test_unknown_flow(creds):
    state, exc = await _outcome("flow deleted or unknown (webhook 410)", creds, "AAAAAAAAAAAAAAAAAAAAA")
    assert state.is_failed() and isinstance(exc, FlowGoneError)
    assert "does not exist" in state.message


async def test_wrong_api_key(engine, flows):
    wrong = ImbraceCredentials(api_key="sk-wrong", gateway=engine.url, max_retries=0)
    state, exc = await _outcome("wrong API key (401)", wrong, flows.echo())
    assert state.is_failed() and isinstance(exc, AuthenticationError)
    assert "api_key" in state.message


async def test_rate_limited_beyond_all_retries(creds, flows, engine):
    fid = flows.echo()
    engine.control.add_fault(r"/webhooks/", method="POST", status=429, headers={"retry-after": "0"}, times=50)
    state, exc = await _outcome("429 beyond the client's retries", creds, fid)
    assert state.is_failed() and isinstance(exc, RateLimitError)
    assert "Rate limited (429)" in state.message


async def test_polling_errors_beyond_the_budget(creds, flows, engine):
    fid = flows.slow(1)
    engine.control.add_fault(r"/flow-runs", method="GET", status=500, times=400)
    state, exc = await _outcome("500s on polling beyond max_poll_errors", creds.model_copy(update={"max_retries": 0}), fid)
    assert state.is_failed() and isinstance(exc, ServerError)
    assert "500" in state.message


@pytest.mark.parametrize("port_owner", ["closed port"])
async def test_engine_unreachable(port_owner):
    creds = ImbraceCredentials(api_key=API_KEY, gateway="http://127.0.0.1:9", max_retries=1, timeout=2)
    state, exc = await _outcome("engine unreachable", creds, "AAAAAAAAAAAAAAAAAAAAA")
    assert state.is_failed() and isinstance(exc, APIConnectionError)
    assert "Could not reach the engine" in state.message
