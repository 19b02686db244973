"""The deferred-approval example: blocking outside a deployment, and its deployment form.

The deployed behaviour (suspension, the resumer, adoption) is tested on a real server with
a process worker in tests/deployments/test_approval_deferred.py (an approval) and
test_deferred_wait.py (a long pause).
"""

from __future__ import annotations

import threading

import deferred_approval
import pytest

pytestmark = pytest.mark.usefixtures("prefect_api")


def test_outside_a_deployment_the_wait_blocks_until_the_approval(target, block):
    with target.client() as client:
        flow_id = deferred_approval.build_approval_flow(client)
    approved = []

    def approver() -> None:  # a person, some time after the request: the run is PAUSED meanwhile
        with target.client() as client:
            approved.append(deferred_approval.approve(client, flow_id, {"approved": True, "by": "ann"}, 60))

    helper = threading.Thread(target=approver, daemon=True)
    helper.start()
    outcome = deferred_approval.deferred_approval(flow_id, {"invoice": "INV-7"}, block, defer_after=1)
    helper.join(timeout=5)

    assert outcome["status"] == "SUCCEEDED" and approved == [outcome["run_id"]]
    assert outcome["payload"] == {"approved": True, "by": "ann", "request": {"invoice": "INV-7"}}
    assert target.engine.control.counters()["runs_per_flow"][flow_id] == 1


def test_the_deployment_form_carries_defer_after():
    deployment = deferred_approval.build_deployment("FLOWID", "my-block", defer_after=45)
    assert deployment.name == deferred_approval.DEPLOYMENT_NAME
    assert deployment.parameters == {"flow_id": "FLOWID", "credentials_block": "my-block", "defer_after": 45}
