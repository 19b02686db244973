"""The deferred-approval example: blocking outside a deployment, and its deployment form.

The deployed behaviour (suspension, the resumer, adoption) is tested on a real server with
a process worker in tests/deployments/test_deferred_wait.py.
"""

from __future__ import annotations

import threading
import time

import deferred_approval
import pytest

pytestmark = pytest.mark.usefixtures("prefect_api")


def test_outside_a_deployment_the_wait_blocks_and_returns_the_result(target, block):
    with target.client() as client:
        flow_id = deferred_approval.build_waiting_flow(client, minutes=2)
    # a 2-minute pause would make this test slow: the engine resumes the run once it is PAUSED
    def resume_when_paused() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with target.client() as client:
                runs = list(client.workflows.iter_runs(flow_id=flow_id))
            if runs and runs[0].status == "PAUSED":
                time.sleep(1)
                target.engine.control.resume_run(runs[0].id)
                return
            time.sleep(0.2)

    helper = threading.Thread(target=resume_when_paused, daemon=True)
    helper.start()
    outcome = deferred_approval.deferred_approval(flow_id, {"invoice": "INV-7"}, block, defer_after=1)
    helper.join(timeout=5)

    assert outcome["status"] == "SUCCEEDED"
    assert outcome["payload"]["approved"] is True
    assert target.engine.control.counters()["runs_per_flow"][flow_id] == 1


def test_the_deployment_form_carries_defer_after():
    deployment = deferred_approval.build_deployment("FLOWID", "my-block", defer_after=45)
    assert deployment.name == deferred_approval.DEPLOYMENT_NAME
    assert deployment.parameters == {"flow_id": "FLOWID", "credentials_block": "my-block", "defer_after": 45}
