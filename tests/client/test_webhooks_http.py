"""Webhooks as they really behave: receipts, sync outcomes, disabled/gone flows, draft routes."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from prefect_imbrace.client import ImbraceClient, SyncOutcome
from prefect_imbrace.client import operations as ops
from prefect_imbrace.client.models import TriggerReceipt
from prefect_imbrace.exceptions import FlowDisabledError, FlowGoneError, NotFoundError
from prefect_imbrace.local import ImbraceLocal

pytestmark = pytest.mark.asyncio(loop_scope="session")
UNKNOWN = "AAAAAAAAAAAAAAAAAAAAA"


async def _flow(wf, *steps, publish=True):
    flow = await wf.create_flow(display_name="hook")
    await wf.apply_flow_operation(flow_id=flow.id, operation=ops.update_trigger(ops.catch_webhook()))
    parent = "trigger"
    for step in steps:
        await wf.apply_flow_operation(flow_id=flow.id, operation=ops.add_action(parent, step))
        parent = step.name
    if publish:
        await wf.apply_flow_operation(flow_id=flow.id, operation=ops.lock_and_publish())
    return flow.id


async def test_async_trigger_gives_a_receipt_and_a_run(fresh, wf, eventually):
    flow_id = await _flow(wf, ops.return_response("step_1", body={"ok": True}))
    before = datetime.now(timezone.utc)
    receipt = await wf.trigger_flow(flow_id=flow_id, payload={"n": 5}, headers={"X-Prefect-Imbrace-Key": "key-123"})
    assert isinstance(receipt, TriggerReceipt)
    assert (receipt.flow_id, receipt.status_code) == (flow_id, 200)
    assert receipt.webhook_id and len(receipt.webhook_id) == 21
    assert before <= receipt.sent_at <= datetime.now(timezone.utc)

    page = await eventually(lambda: _runs_done(wf, flow_id))
    run = await wf.get_run(run_id=page.data[0].id)
    assert run.trigger_headers["x-prefect-imbrace-key"] == "key-123"
    assert run.steps["trigger"].output["body"] == {"n": 5}
    assert "x-api-key" not in run.trigger_headers


async def _runs_done(wf, flow_id):
    page = await wf.list_runs(flow_id=flow_id)
    return page if page.data and page.data[0].is_terminal else None


async def test_sync_trigger_replies(fresh, wf, echo_flow, client):
    flow_id = echo_flow(client)
    reply = await wf.trigger_flow_sync(flow_id=flow_id, payload={"n": 7})
    assert reply.outcome is SyncOutcome.REPLIED and reply.ok
    assert (reply.status_code, reply.body) == (201, {"n": 7, "echo": {"n": 7}})
    assert reply.headers["x-demo"] == "yes" and reply.webhook_id


async def test_sync_trigger_raw_text_reply(fresh, wf):
    flow_id = await _flow(
        wf, ops.return_response("step_1", body="plain words", response_type="raw")
    )
    reply = await wf.trigger_flow_sync(flow_id=flow_id)
    assert reply.outcome is SyncOutcome.REPLIED
    assert reply.body == "plain words"


async def test_sync_trigger_without_reply_is_no_reply(fresh, wf):
    flow_id = await _flow(wf, ops.delay("step_1", 0))
    reply = await wf.trigger_flow_sync(flow_id=flow_id, payload={"n": 1})
    assert (reply.outcome, reply.status_code, reply.body) == (SyncOutcome.NO_REPLY, 204, None)


async def test_sync_trigger_failed_run(fresh, wf):
    flow_id = await _flow(wf, ops.http_request("step_1", "GET", "http://127.0.0.1:1/nothing"))
    reply = await wf.trigger_flow_sync(flow_id=flow_id)
    assert (reply.outcome, reply.status_code) == (SyncOutcome.RUN_FAILED, 500)
    assert reply.body == {"message": "The flow has failed and there is no response returned"}
    assert not reply.ok


async def test_sync_trigger_timed_out_run():
    with (
        ImbraceLocal(run_timeout=0.5, sync_timeout=5) as engine,
        ImbraceClient(api_key=engine.api_key, gateway=engine.url) as client,
    ):
        flow = client.workflows.create_flow(display_name="slow")
        client.workflows.apply_flow_operation(flow_id=flow.id, operation=ops.update_trigger(ops.catch_webhook()))
        client.workflows.apply_flow_operation(
            flow_id=flow.id, operation=ops.add_action("trigger", ops.delay("step_1", 3))
        )
        client.workflows.apply_flow_operation(
            flow_id=flow.id, operation=ops.add_action("step_1", ops.return_response("step_2"))
        )
        client.workflows.apply_flow_operation(flow_id=flow.id, operation=ops.lock_and_publish())
        reply = client.workflows.trigger_flow_sync(flow_id=flow.id)
    assert (reply.outcome, reply.status_code) == (SyncOutcome.RUN_TIMED_OUT, 504)
    assert reply.body == {"message": "The request took too long to reply"}


async def test_disabled_and_gone_flows(fresh, wf, echo_flow, client):
    flow_id = echo_flow(client)
    await wf.apply_flow_operation(flow_id=flow_id, operation=ops.change_status("DISABLED"))
    for call in (wf.trigger_flow, wf.trigger_flow_sync):
        with pytest.raises(FlowDisabledError) as info:
            await call(flow_id=flow_id, payload={"n": 2})
        assert info.value.flow_id == flow_id and info.value.status_code == 404
        assert "ENABLED" in str(info.value)
        with pytest.raises(FlowGoneError) as gone:
            await call(flow_id=UNKNOWN)
        assert isinstance(gone.value, NotFoundError) and gone.value.status_code == 410


async def test_draft_routes_run_the_draft(fresh, wf):
    flow_id = await _flow(wf, ops.return_response("step_1", body={"v": "draft"}), publish=False)
    reply = await wf.trigger_flow_sync(flow_id=flow_id, payload={}, draft=True)
    assert reply.body == {"v": "draft"}
    # draft runs are TESTING runs: never listed
    assert (await wf.list_runs(flow_id=flow_id)).data == []


async def test_sync_timeout_override_is_used(fresh, wf, echo_flow, client):
    flow_id = echo_flow(client)
    reply = await wf.trigger_flow_sync(flow_id=flow_id, payload={"n": 1}, timeout=10.0)
    assert reply.ok


async def test_a_flow_replying_503_is_not_resent(fresh, wf, requests_for):
    flow_id = await _flow(wf, ops.return_response("step_1", status=503, body={"busy": True}))
    reply = await wf.trigger_flow_sync(flow_id=flow_id)
    assert (reply.outcome, reply.status_code, reply.body) == (
        SyncOutcome.REPLIED,
        503,
        {"busy": True},
    )
    assert not reply.ok
    counters = fresh.control.counters()
    assert counters["requests"][f"POST /activepieces/v1/webhooks/{flow_id}/sync"] == 1
    assert counters["runs_per_flow"][flow_id] == 1
