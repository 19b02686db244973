"""Flow runs: lists with every filter, one run with steps, retries, cancel, archive."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from imbrace_flows import ImbraceFlows

from prefect_imbrace.client import RunCategory, SyncOutcome
from prefect_imbrace.client import operations as ops
from prefect_imbrace.client.models import FlowRun
from prefect_imbrace.exceptions import ConflictError, NotFoundError

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def _failing_flow(wf):
    flow = await wf.create_flow(display_name="failing")
    await wf.apply_flow_operation(flow_id=flow.id, operation=ops.update_trigger(ops.catch_webhook()))
    await wf.apply_flow_operation(
        flow_id=flow.id,
        operation=ops.add_action("trigger", ops.http_request("step_1", "GET", "http://127.0.0.1:1/x")),
    )
    await wf.apply_flow_operation(flow_id=flow.id, operation=ops.lock_and_publish())
    return flow.id


async def _paused_flow(wf):
    flow = await wf.create_flow(display_name="pausing")
    await wf.apply_flow_operation(flow_id=flow.id, operation=ops.update_trigger(ops.catch_webhook()))
    await wf.apply_flow_operation(
        flow_id=flow.id, operation=ops.add_action("trigger", ops.delay("step_1", 10, unit="minutes"))
    )
    await wf.apply_flow_operation(flow_id=flow.id, operation=ops.lock_and_publish())
    return flow.id


async def _terminal_runs(wf, flow_id, n):
    page = await wf.list_runs(flow_id=flow_id, limit=50)
    return page if len(page.data) >= n and all(r.is_terminal for r in page.data) else None


async def test_list_and_get_runs(fresh, wf, echo_flow, client, eventually):
    flow_id = echo_flow(client)
    start = datetime.now(timezone.utc) - timedelta(seconds=1)
    for n in range(3):
        await wf.trigger_flow_sync(flow_id=flow_id, payload={"n": n})
    failing = await _failing_flow(wf)
    await wf.trigger_flow_sync(flow_id=failing)

    # a sync reply comes before its run ends (as on the engine): wait for the runs to end
    await eventually(lambda: _terminal_runs(wf, flow_id, 3))
    await eventually(lambda: _terminal_runs(wf, failing, 1))
    page = await wf.list_runs(flow_id=flow_id)
    assert len(page.data) == 3 and all(isinstance(r, FlowRun) for r in page.data)
    assert all(r.steps == {} for r in page.data)  # lists carry no steps
    assert [r.created for r in page.data] == sorted((r.created for r in page.data), reverse=True)

    run = await wf.get_run(run_id=page.data[0].id)
    assert run.category is RunCategory.SUCCEEDED and run.is_terminal and run.duration is not None
    assert run.failed_step is None and run.failed_step_name is None
    assert run.step_outputs["step_1"]["body"]["n"] == 2

    assert (
        len(
            (
                await wf.list_runs(
                    flow_id=[flow_id, failing], status=["SUCCEEDED", "FAILED"], limit=50
                )
            ).data
        )
        == 4
    )
    assert len((await wf.list_runs(status="FAILED")).data) == 1
    assert len((await wf.list_runs(created_after=start, flow_id=flow_id)).data) == 3
    assert (await wf.list_runs(created_before=start)).data == []
    assert (await wf.list_runs(created_after=start.isoformat())).data
    one = page.data[1].id
    assert [r.id for r in (await wf.list_runs(flow_run_ids=[one])).data] == [one]
    assert len((await wf.list_runs(archived=False, limit=50)).data) == 4
    iterated = await wf.collect("iter_runs", flow_id=flow_id, limit=2)
    assert [r.id for r in iterated] == [r.id for r in page.data]
    assert len(await wf.collect("iter_runs", limit=1, take=2)) == 2


async def test_failed_run_details_and_retries(fresh, wf, eventually):
    flow_id = await _failing_flow(wf)
    await wf.trigger_flow_sync(flow_id=flow_id)
    failed = (await wf.list_runs(flow_id=flow_id)).data[0]
    assert failed.status == "FAILED" and failed.failed_step_name == "step_1"
    detail = await wf.get_run(run_id=failed.id)
    assert detail.category is RunCategory.FAILED and detail.error_message
    assert len((await wf.list_runs(failed_step_name="step_1")).data) == 1

    same = await wf.retry_run(run_id=failed.id)  # FROM_FAILED_STEP: the same run again
    assert same.id == failed.id
    fresh_run = await wf.retry_run(run_id=failed.id, strategy="ON_LATEST_VERSION")
    assert fresh_run.id != failed.id and fresh_run.flow_id == flow_id
    await eventually(lambda: _terminal_runs(wf, flow_id, 2))

    retried = await wf.retry_runs(strategy="ON_LATEST_VERSION", flow_run_ids=[failed.id])
    assert len(retried) == 1 and retried[0].id != failed.id
    await eventually(lambda: _terminal_runs(wf, flow_id, 3))

    assert await wf.archive_runs(flow_id=[flow_id]) is None
    assert len((await wf.list_runs(flow_id=flow_id, archived=True, limit=50)).data) == 3
    assert (await wf.list_runs(flow_id=flow_id, archived=False)).data == []


async def test_cancel_paused_runs(fresh, wf, eventually):
    flow_id = await _paused_flow(wf)
    await wf.trigger_flow(flow_id=flow_id, payload={})

    async def paused():
        page = await wf.list_runs(flow_id=flow_id, status="PAUSED")
        return page.data[0] if page.data else None

    run = await eventually(paused)
    assert run.category is RunCategory.PAUSED and not run.is_terminal
    assert await wf.cancel_runs(flow_run_ids=[run.id]) is None
    cancelled = await wf.get_run(run_id=run.id)
    assert (
        cancelled.status == "CANCELED"
        and cancelled.category is RunCategory.CANCELLED
        and cancelled.is_terminal
    )


async def test_unknown_status_is_kept(fresh, wf, echo_flow, client):
    flow_id = echo_flow(client)
    await wf.trigger_flow_sync(flow_id=flow_id, payload={"n": 1})
    run = (await wf.list_runs(flow_id=flow_id)).data[0]
    fresh.control.set_run_status(run.id, "LOG_SIZE_EXCEEDED")
    assert (await wf.get_run(run_id=run.id)).category is RunCategory.FAILED
    fresh.control.set_run_status(run.id, "SOMETHING_NEW")
    odd = await wf.get_run(run_id=run.id)
    assert odd.status == "SOMETHING_NEW" and odd.category is RunCategory.UNKNOWN


async def test_missing_run_is_not_found(fresh, wf):
    with pytest.raises(NotFoundError) as info:
        await wf.get_run(run_id="AAAAAAAAAAAAAAAAAAAAA")
    assert info.value.status_code == 400 and info.value.code == "FLOW_RUN_NOT_FOUND"
    with pytest.raises(NotFoundError):
        await wf.retry_run(run_id="AAAAAAAAAAAAAAAAAAAAA")


async def test_resume_run_answers_like_a_sync_webhook_and_refuses_as_the_engine(fresh, wf, client, eventually):
    approval = ImbraceFlows(client).approval()
    asked = await wf.trigger_flow_sync(approval, {"invoice": "INV-1"})
    assert asked.resume_url is not None
    listed = await eventually(lambda: _paused_run(wf, approval))
    run = await wf.get_run(listed.id)
    assert run.resume_url == asked.resume_url and len(run.resume_request_id) == 21
    with pytest.raises(NotFoundError):  # another request id: 404 {}
        await wf.resume_run(run.id, "A" * 21, {"approved": True})
    reply = await wf.resume_run(run.id, run.resume_request_id, {"approved": True})
    assert reply.outcome is SyncOutcome.REPLIED and reply.body == {"approved": True, "invoice": "INV-1"}
    with pytest.raises(ConflictError, match="not paused"):  # once resumed: 409
        await wf.resume_run(run.id, run.resume_request_id, {"approved": True})

    silent = await wf.create_flow("approval without a reply")  # resumed, it replies nothing: 204
    await wf.apply_flow_operation(silent.id, ops.update_trigger(ops.catch_webhook()))
    await wf.apply_flow_operation(silent.id, ops.add_action("trigger", ops.respond_and_wait("step_1")))
    await wf.apply_flow_operation(silent.id, ops.lock_and_publish())
    await wf.trigger_flow(silent.id, {})
    paused = await wf.get_run((await eventually(lambda: _paused_run(wf, silent.id))).id)
    done = await wf.resume_run(paused.id, paused.resume_request_id)
    assert done.outcome is SyncOutcome.NO_REPLY and done.body is None


async def _paused_run(wf, flow_id):
    page = await wf.list_runs(flow_id=flow_id, status="PAUSED")
    return page.data[0] if page.data else None
