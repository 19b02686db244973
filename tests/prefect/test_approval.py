"""An approval-style Imbrace flow through `trigger_flow_and_wait`: the run pauses on a webhook
(Respond and Wait for Next Webhook) until someone calls its resume URL, then replies.

The deferred form (`defer_after=`, a suspended flow run resumed by the resumer) runs on a real
server with a worker in tests/deployments/test_approval_deferred.py.
"""

from __future__ import annotations

import threading

from imbrace_flows import approve_when_paused
from prefect import flow

from prefect_imbrace.tasks import trigger_flow_and_wait


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
        paused = client.workflows.get_run(run.id)
        assert paused.status == "PAUSED" and paused.resume_url == asked.resume_url
        done = client.workflows.resume_run(paused.id, paused.resume_request_id, {"approved": False})
        assert done.ok and done.body == {"approved": False, "invoice": "INV-3"}
