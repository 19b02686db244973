"""The recipes of docs/how-to, run as written against Imbrace Local."""

from __future__ import annotations

import pytest
from prefect import flow
from prefect.blocks.system import Secret

from prefect_imbrace.client import operations as ops
from prefect_imbrace.credentials import ImbraceCredentials
from prefect_imbrace.tasks import rotate_mcp_token, trigger_flow_and_wait

pytestmark = pytest.mark.usefixtures("prefect_api")


@flow
def rotate(credentials: ImbraceCredentials, mcp_server_id: str) -> str:
    server = rotate_mcp_token(credentials, mcp_server_id, secret_block_name="imbrace-mcp-token")
    return server.id


def test_rotate_mcp_token_into_a_secret_block(target):
    with target.client() as client:
        server = client.workflows.create_mcp_server(name="agents")
    old_token = server.token.get_secret_value()

    assert rotate(target.credentials, server.id) == server.id

    stored = Secret.load("imbrace-mcp-token").get()
    assert stored != old_token
    with target.client() as client:
        assert client.workflows.get_mcp_server(mcp_server_id=server.id).token.get_secret_value() == stored


@flow
def my_pipeline(credentials: ImbraceCredentials, flow_id: str) -> dict:
    return trigger_flow_and_wait(credentials, flow_id, {"n": 2}).payload


def test_my_pipeline(prefect_api, imbrace_local):
    credentials = ImbraceCredentials(api_key=imbrace_local.api_key, gateway=imbrace_local.url)
    with credentials.get_client() as client:
        flow = client.workflows.create_flow(display_name="Double")
        client.workflows.apply_flow_operation(flow_id=flow.id, operation=ops.update_trigger(ops.catch_webhook()))
        reply = ops.return_response(body={"n": "{{trigger.body.n}}", "ok": True})
        client.workflows.apply_flow_operation(flow_id=flow.id, operation=ops.add_action("trigger", reply))
        client.workflows.apply_flow_operation(flow_id=flow.id, operation=ops.lock_and_publish())

    assert my_pipeline(credentials, flow.id) == {"n": 2, "ok": True}
    assert imbrace_local.control.counters()["runs_per_flow"][flow.id] == 1


def test_a_lost_trigger_answer_does_not_run_the_flow_twice(target):
    with target.client() as client:
        flow = client.workflows.create_flow(display_name="Once")
        client.workflows.apply_flow_operation(flow_id=flow.id, operation=ops.update_trigger(ops.catch_webhook()))
        reply = ops.return_response(body={"ok": True})
        client.workflows.apply_flow_operation(flow_id=flow.id, operation=ops.add_action("trigger", reply))
        client.workflows.apply_flow_operation(flow_id=flow.id, operation=ops.lock_and_publish())
    target.engine.control.add_fault(f"/v1/webhooks/{flow.id}", lost_response=True)

    assert my_pipeline(target.credentials, flow.id) == {"ok": True}
    assert target.engine.control.counters()["runs_per_flow"][flow.id] == 1
