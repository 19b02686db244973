"""An approval-style Imbrace flow through `trigger_flow_and_wait`: the run pauses on a webhook
(Respond and Wait for Next Webhook) until someone calls its resume URL, then replies.

The deferred form (`defer_after=`, a suspended flow run resumed by the resumer) runs on a real
server with a worker in tests/deployments/test_approval_deferred.py.
"""

from __future__ import annotations

import asyncio
import threading
import time

from imbrace_flows import approve_when_paused
from prefect import flow

from prefect_imbrace.tasks import aresume_run, resume_run, trigger_flow_and_wait


def test_the_wait_blocks_while_paused_and_returns_the_approved_reply(creds, flows, engine):
    fid = flows.approval()
    replies = []

    def approver() -> None:
        with creds.get_client() as client:
            replies.append(approve_when_paused(client, fid, {"approved": True}))

    helper = threading.Thread(target=approver, daemon=True)
    helper.start()

    @flow
    def parent():
        return trigger_flow_and_wait(creds, fid, {"invoice": "INV-9"})

    result = parent()
    helper.join(timeout=30)
    assert result.status == "SUCCEEDED"
    assert result.payload == {"approved": True, "invoice": "INV-9"}
    assert result.steps["step_1"].output["body"] == {"approved": True}  # what the approver sent
    assert replies and replies[0].body == {"approved": True, "invoice": "INV-9"}  # the resume call's reply
    assert engine.control.counters()["runs_per_flow"][fid] == 1


def test_the_approval_reply_hands_out_the_resume_url(creds, flows):
    fid = flows.approval()
    with creds.get_client() as client:
        asked = client.workflows.trigger_flow_sync(fid, {"invoice": "INV-3"})
        assert asked.body == {"awaiting": "approval", "invoice": "INV-3"}
        assert asked.resume_url and "/requests/" in asked.resume_url
        run = next(r for r in client.workflows.list_runs(flow_id=fid).data)
        deadline = time.monotonic() + 10  # the reply comes first; the run pauses right after
        while (paused := client.workflows.get_run(run.id)).status != "PAUSED":
            assert time.monotonic() < deadline, paused.status
            time.sleep(0.05)
        assert paused.resume_url == asked.resume_url
        done = client.workflows.resume_run(paused.id, paused.resume_request_id, {"approved": False})
        assert done.ok and done.body == {"approved": False, "invoice": "INV-3"}


def test_the_resume_task_pair_approves_from_a_prefect_flow(creds, flows):
    """`resume_run` in a sync Prefect flow, `aresume_run` in an async one."""
    def paused_run(fid):
        with creds.get_client() as client:
            client.workflows.trigger_flow(fid, {"invoice": fid[:4]})
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                for listed in client.workflows.list_runs(flow_id=fid, status="PAUSED").data:
                    return client.workflows.get_run(listed.id)
                time.sleep(0.1)
        raise AssertionError("the approval run did not pause")

    @flow
    def approve(run_id: str, request_id: str):
        return resume_run(creds, run_id, request_id, {"approved": True})

    @flow
    async def aapprove(run_id: str, request_id: str):
        return await aresume_run(creds, run_id, request_id, {"approved": "yes"})

    first = paused_run(flows.approval("Sync approval"))
    assert approve(first.id, first.resume_request_id).body["approved"] is True
    second = paused_run(flows.approval("Async approval"))
    reply = asyncio.run(aapprove(second.id, second.resume_request_id))
    assert reply.body["approved"] == "yes"
