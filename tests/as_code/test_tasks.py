"""The Prefect tasks, the deployment step function and run-time lookup of flow ids by key."""

from __future__ import annotations

from pathlib import Path

import pytest
from as_code_helpers import SECRET, Tenants, build_tenant_a
from prefect import flow

from prefect_imbrace import (
    ImbraceApplyFailed,
    ImbraceFlow,
    ImbraceFlowNotFound,
    aapply_imbrace_flows,
    aplan_imbrace_flows,
    apply_imbrace_flows,
    find_imbrace_flow_id,
    plan_imbrace_flows,
)
from prefect_imbrace.as_code import export_project
from prefect_imbrace.credentials import ImbraceCredentials
from prefect_imbrace.deployments import steps

EXAMPLE = Path(__file__).resolve().parents[2] / "flows" / "imbrace_as_code" / "imbrace"

pytestmark = pytest.mark.usefixtures("prefect_harness")


def credentials_of(tenants: Tenants, key: str) -> ImbraceCredentials:
    return ImbraceCredentials(api_key=key, gateway=tenants.engine.url)


@flow
def promote(credentials: ImbraceCredentials, directory: str) -> dict:
    before = plan_imbrace_flows(credentials, directory)
    applied = apply_imbrace_flows(credentials, directory)
    after = plan_imbrace_flows(credentials, directory)
    return {"before": before, "applied": applied, "after": after}


@flow
async def apromote(credentials: ImbraceCredentials, directory: str) -> dict:
    before = await aplan_imbrace_flows(credentials, directory)
    applied = await aapply_imbrace_flows(credentials, directory)
    after = await aplan_imbrace_flows(credentials, directory)
    return {"before": before, "applied": applied, "after": after}


def check(outcome: dict, tenants: Tenants) -> None:
    assert outcome["before"].has_changes and outcome["before"].counts["create"] == 3
    assert outcome["applied"].counts == {"create": 3, "update": 0, "delete": 0, "failed": 0, "unchanged": 0}
    assert not outcome["after"].has_changes
    flow_id = outcome["applied"].flow_ids["order-intake"]
    reply = tenants.b.client.workflows.trigger_flow_sync(flow_id=flow_id, payload={"id": "A-9", "total": 5})
    assert reply.body == {"route": "auto", "order": "A-9"}


def test_plan_and_apply_tasks(tenants: Tenants) -> None:
    check(promote(credentials_of(tenants, tenants.b.api_key), str(EXAMPLE)), tenants)


async def test_async_twins(tenants: Tenants) -> None:
    check(await apromote(credentials_of(tenants, tenants.b.api_key), str(EXAMPLE)), tenants)


def test_a_failed_apply_fails_the_task(tenants: Tenants) -> None:
    tenants.engine.control.add_fault(r"/v1/tables$", method="POST", status=409, times=1,
                                     body={"code": "VALIDATION", "params": {"message": "injected"}})
    with pytest.raises(ImbraceApplyFailed, match="create table 'Reviewed orders': FAILED, rolled back"):
        promote(credentials_of(tenants, tenants.b.api_key), str(EXAMPLE))


def test_deployment_step_applies_and_returns_flow_ids(tenants: Tenants, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    build_tenant_a(tenants.a.client, tenants.engine.url)
    export_project(tenants.a.client, tmp_path)
    credentials_of(tenants, tenants.b.api_key).save("as-code-step-b", overwrite=True)
    monkeypatch.setenv("IMBRACE_SECRET_PING_TOKEN", SECRET)

    output = steps.apply_imbrace_flows(directory=str(tmp_path), credentials_block="as-code-step-b")

    assert set(output["flow_ids"]) == {"echo", "order-intake"}
    assert output["flow_ids"]["echo"] == find_imbrace_flow_id(tenants.b.client, key="echo")
    writes = tenants.writes()
    again = steps.apply_imbrace_flows(directory=str(tmp_path), credentials_block="as-code-step-b")
    assert again["flow_ids"] == output["flow_ids"] and tenants.writes() == writes

    block = ImbraceFlow.by_key(credentials_of(tenants, tenants.b.api_key), "echo")
    assert block.flow_id == output["flow_ids"]["echo"]
    external = tenants.b.client.workflows.get_flow(flow_id=block.flow_id).external_id
    assert ImbraceFlow.by_external_id(credentials_of(tenants, tenants.b.api_key), external).flow_id == block.flow_id


def test_an_unknown_key_says_how_to_fix_it(tenants: Tenants) -> None:
    with pytest.raises(ImbraceFlowNotFound, match="no Imbrace flow has key 'nope'.*prefect-imbrace apply"):
        find_imbrace_flow_id(tenants.b.client, key="nope")


def test_the_command_line_reads_a_credentials_block(tenants: Tenants) -> None:
    from typer.testing import CliRunner

    from prefect_imbrace.as_code.cli import app

    credentials_of(tenants, tenants.b.api_key).save("as-code-cli-b", overwrite=True)
    result = CliRunner().invoke(app, ["plan", "--block", "as-code-cli-b", str(EXAMPLE)])
    assert result.exit_code == 2, result.output
    assert "+ create flow 'order-intake'" in result.output
    assert "Plan: 3 to create, 0 to update, 0 to delete, 0 unchanged." in result.output
