"""Export from tenant A, apply to an empty tenant B, over real HTTP against Imbrace Local.

The done-when of issue 15: same payloads give the same outputs in both tenants; a second apply
changes nothing (no request but GETs, counted by the control plane); an edit made in B through
the API shows up in `plan` (exit 2, old and new value) and `apply` puts it back.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from as_code_helpers import SECRET, Tenants, build_tenant_a
from typer.testing import CliRunner

from prefect_imbrace.as_code import METADATA_KEY
from prefect_imbrace.as_code.cli import app
from prefect_imbrace.client import operations as ops

PAYLOADS = [{"items": [3, 1, 2]}, {"items": []}, {"x": "y"}]


def cli(tenant_key: str, url: str, *args: str) -> tuple[int, str]:
    env = {"IMBRACE_API_KEY": tenant_key, "IMBRACE_GATEWAY_URL": url, "IMBRACE_SECRET_PING_TOKEN": SECRET}
    result = CliRunner().invoke(app, list(args), env=env)
    return result.exit_code, result.output


def flow_ids_by_key(tenant) -> dict[str, str]:
    return {
        (flow.metadata or {}).get(METADATA_KEY): flow.id
        for flow in tenant.client.workflows.iter_flows()
    }


def outputs(tenant, flow_id: str) -> list[tuple[int, object]]:
    replies = [tenant.client.workflows.trigger_flow_sync(flow_id=flow_id, payload=p) for p in PAYLOADS]
    return [(r.status_code, r.body) for r in replies]


def test_export_from_a_apply_to_empty_b(tenants: Tenants, tmp_path: Path) -> None:
    url = tenants.engine.url
    built = build_tenant_a(tenants.a.client, url)
    files = tmp_path / "a"

    # the console script itself, as a user runs it
    env = {**os.environ, "IMBRACE_API_KEY": tenants.a.api_key, "IMBRACE_GATEWAY_URL": url}
    done = subprocess.run([Path(sys.executable).with_name("prefect-imbrace"), "export", str(files)],
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    exported = sorted(str(p.relative_to(files)) for p in files.rglob("*") if p.is_file())
    assert exported == ["connections/ping-token.yaml", "flows/echo.yaml", "flows/order-intake.yaml",
                        "folders.yaml", "imbrace.schema.json", "mcp_servers/support-bot.yaml",
                        "tables/customers.yaml"]
    text = "".join(p.read_text() for p in files.rglob("*.yaml"))
    assert SECRET not in text and built["echo"] not in text and "created" not in text

    code, out = cli(tenants.b.api_key, url, "apply", str(files))
    assert code == 0, out
    assert "Applied: 6 created, 0 updated, 0 deleted, 0 unchanged, 0 failed." in out

    b_ids = flow_ids_by_key(tenants.b)
    for key, a_id in built.items():
        assert outputs(tenants.a, a_id) == outputs(tenants.b, b_ids[key])
    many = outputs(tenants.b, b_ids["order-intake"])[0]
    assert many == (201, {"count": 3, "last": 2, "service": "imbrace-local"})

    # B now holds what A holds: its export is byte for byte the same
    code, out = cli(tenants.b.api_key, url, "export", str(tmp_path / "b"))
    assert code == 0, out
    for path in files.rglob("*.yaml"):
        assert (tmp_path / "b" / path.relative_to(files)).read_text() == path.read_text()
    table = next(tenants.b.client.workflows.iter_tables())
    assert [f.name for f in tenants.b.client.workflows.list_fields(table_id=table.id)] == ["Email", "Score", "Tier"]
    server = next(tenants.b.client.workflows.iter_mcp_servers())
    assert server.name == "Support bot"
    assert {t.flow_id for t in server.tools if t.type == "FLOW"} == {b_ids["echo"]}  # B's own flow

    writes = tenants.writes()
    code, out = cli(tenants.b.api_key, url, "apply", str(files))
    assert code == 0, out
    assert "No changes: 6 object(s) already match the files." in out
    assert tenants.writes() == writes  # the second apply sent GETs only

    code, out = cli(tenants.b.api_key, url, "plan", str(files))
    assert (code, out.strip()) == (0, "No changes: 6 object(s) match the files.")


def test_an_edit_in_b_shows_in_plan_and_apply_restores_it(tenants: Tenants, tmp_path: Path) -> None:
    url = tenants.engine.url
    build_tenant_a(tenants.a.client, url)
    assert cli(tenants.a.api_key, url, "export", str(tmp_path))[0] == 0
    assert cli(tenants.b.api_key, url, "apply", str(tmp_path))[0] == 0
    flow_id = flow_ids_by_key(tenants.b)["order-intake"]
    edited = ops.return_response(name="reply_many", status=202, body={"count": "{{each.index}}"})
    tenants.b.client.workflows.apply_flow_operation(flow_id=flow_id, operation=ops.update_action(action=edited))
    assert outputs(tenants.b, flow_id)[0][0] == 201  # the edit is a draft; production still answers 201

    code, out = cli(tenants.b.api_key, url, "plan", str(tmp_path))
    assert code == 2, out
    assert "~ update flow 'order-intake'" in out
    assert "step reply_many: settings.input.fields.status: 202 -> 201" in out
    assert 'step reply_many: settings.input.fields.body.service: (absent) -> "{{ping.body.service}}"' in out
    assert "Plan: 0 to create, 1 to update, 0 to delete, 5 unchanged." in out

    code, out = cli(tenants.b.api_key, url, "apply", str(tmp_path))
    assert code == 0, out
    assert "~ update flow 'order-intake': ok" in out
    assert cli(tenants.b.api_key, url, "plan", str(tmp_path))[0] == 0
    flow = tenants.b.client.workflows.get_flow(flow_id=flow_id)
    assert flow.status == "ENABLED" and flow.version.state == "LOCKED"
    assert outputs(tenants.b, flow_id)[0] == (201, {"count": 3, "last": 2, "service": "imbrace-local"})


def test_prune_deletes_only_inside_managed_folders(tenants: Tenants, tmp_path: Path) -> None:
    url = tenants.engine.url
    build_tenant_a(tenants.a.client, url)
    assert cli(tenants.a.api_key, url, "export", str(tmp_path))[0] == 0
    assert cli(tenants.b.api_key, url, "apply", str(tmp_path))[0] == 0
    wf = tenants.b.client.workflows
    orders = next(f for f in wf.iter_folders() if f.display_name == "Orders")
    stray = wf.create_flow(display_name="Hand made", folder_id=orders.id)
    outside = wf.create_flow(display_name="Elsewhere")

    code, out = cli(tenants.b.api_key, url, "plan", str(tmp_path))
    assert code == 0 and "flow 'Hand made' in managed folder 'Orders' is not declared" in out
    code, out = cli(tenants.b.api_key, url, "apply", "--prune", str(tmp_path))
    assert code == 0, out
    assert "- delete flow 'Hand made': ok" in out
    left = {f.id for f in wf.iter_flows()}
    assert stray.id not in left and outside.id in left


def test_a_failed_object_is_rolled_back_and_exit_is_non_zero(tenants: Tenants, tmp_path: Path) -> None:
    url = tenants.engine.url
    build_tenant_a(tenants.a.client, url)
    assert cli(tenants.a.api_key, url, "export", str(tmp_path))[0] == 0
    # the first operation on a new flow (its IMPORT_FLOW) is refused once by the engine
    tenants.engine.control.add_fault(
        r"/v1/flows/[0-9A-Za-z]{21}$", method="POST", status=400, times=1,
        body={"code": "FLOW_OPERATION_INVALID", "params": {"message": "injected"}},
    )
    code, out = cli(tenants.b.api_key, url, "apply", str(tmp_path))
    assert code == 1, out
    assert "+ create flow 'echo': FAILED, rolled back" in out
    assert "+ create flow 'order-intake': ok" in out
    assert "+ create MCP server 'Support bot': FAILED, rolled back: ValueError: its tool flow(s) echo do not exist" in out
    assert "2 failed." in out
    assert set(flow_ids_by_key(tenants.b)) == {"order-intake"}
    code, out = cli(tenants.b.api_key, url, "apply", str(tmp_path))
    assert code == 0 and "+ create flow 'echo': ok" in out and "+ create MCP server 'Support bot': ok" in out


@pytest.mark.parametrize("prune", [False, True])
def test_apply_to_the_source_adopts_its_flows_once(tenants: Tenants, tmp_path: Path, prune: bool) -> None:
    """Flows made by hand have no key: the first apply to their own project writes it, no duplicate."""
    url = tenants.engine.url
    build_tenant_a(tenants.a.client, url)
    assert cli(tenants.a.api_key, url, "export", str(tmp_path))[0] == 0
    args = ["apply", *(["--prune"] if prune else []), str(tmp_path)]
    code, out = cli(tenants.a.api_key, url, *args)
    assert code == 0 and "Applied: 0 created, 2 updated, 0 deleted, 4 unchanged, 0 failed." in out
    assert len(list(tenants.a.client.workflows.iter_flows())) == 2
    assert cli(tenants.a.api_key, url, "plan", str(tmp_path))[0] == 0


def test_export_one_folder_or_one_flow(tenants: Tenants, tmp_path: Path) -> None:
    url = tenants.engine.url
    build_tenant_a(tenants.a.client, url)

    def files(folder: Path) -> list[str]:
        return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())

    assert cli(tenants.a.api_key, url, "export", "--folder", "orders", str(tmp_path / "f"))[0] == 0
    assert files(tmp_path / "f") == ["flows/order-intake.yaml", "folders.yaml", "imbrace.schema.json"]
    assert cli(tenants.a.api_key, url, "export", "--flow", "echo", str(tmp_path / "e"))[0] == 0
    assert files(tmp_path / "e") == ["flows/echo.yaml", "imbrace.schema.json"]
    # a folder's export applies on its own to the other tenant
    code, out = cli(tenants.b.api_key, url, "apply", str(tmp_path / "f"))
    assert code == 0 and "Applied: 2 created" in out, out
    assert "note: flow 'order-intake' uses connection 'ping-token', which neither the files nor the project have" in out


def test_a_failed_update_puts_the_flow_back(tenants: Tenants, tmp_path: Path) -> None:
    """Enabling an EMPTY trigger fails on the engine after the new version is locked and
    published: apply puts the old published version, its status and its tree back."""
    url = tenants.engine.url
    build_tenant_a(tenants.a.client, url)
    assert cli(tenants.a.api_key, url, "export", str(tmp_path))[0] == 0
    assert cli(tenants.b.api_key, url, "apply", str(tmp_path))[0] == 0
    wf = tenants.b.client.workflows
    echo_id = flow_ids_by_key(tenants.b)["echo"]
    wf.apply_flow_operation(flow_id=echo_id, operation=ops.change_status(status="DISABLED"))
    old = wf.get_flow(flow_id=echo_id)
    good = (tmp_path / "flows" / "echo.yaml").read_text()
    head, tail = good.split("  trigger:\n")[0], good.split("  steps:\n")[1]
    (tmp_path / "flows" / "echo.yaml").write_text(
        head + "  trigger: {name: trigger, type: EMPTY, settings: {}}\n  steps:\n" + tail
    )

    code, out = cli(tenants.b.api_key, url, "apply", str(tmp_path))
    assert code == 1, out
    assert "~ update flow 'echo': FAILED, rolled back: InvalidRequestError" in out

    now = wf.get_flow(flow_id=echo_id)
    assert now.status == "DISABLED" and now.version.state == "LOCKED"
    assert now.published_version_id == now.version.id
    assert now.version.trigger == old.version.trigger  # the old tree, published again
    (tmp_path / "flows" / "echo.yaml").write_text(good)
    code, out = cli(tenants.b.api_key, url, "plan", str(tmp_path))
    assert code == 2 and 'status: "DISABLED" -> "ENABLED"' in out
    assert cli(tenants.b.api_key, url, "apply", str(tmp_path))[0] == 0
    reply = wf.trigger_flow_sync(flow_id=echo_id, payload={"n": 1})
    assert (reply.status_code, reply.body) == (200, {"echo": {"n": 1}})
