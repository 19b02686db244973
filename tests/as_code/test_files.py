"""The file format: bad files are refused before any request; the builder form applies; the
published JSON Schema is current."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from as_code_helpers import Tenants
from typer.testing import CliRunner

from prefect_imbrace.as_code import AsCodeFilesError, load_directory
from prefect_imbrace.as_code.cli import app
from prefect_imbrace.as_code.schema import PUBLISHED, schema_dict, schema_text

GOOD_FLOW = """
folders: [{name: Sales}]
flows:
  - key: greet
    display_name: Greet
    folder: Sales
    trigger: {catch_webhook: {}}
    steps:
      - name: shout
        http_request: {method: GET, url: "URL/"}
      - name: reply
        return_response: {body: {hello: "{{trigger.body.name}}", engine: "{{shout.body.status}}"}}
"""

BAD = {
    "unknown step type": (
        """
        flows:
          - key: orders
            display_name: Orders
            trigger: {catch_webhook: {}}
            steps:
              - {name: mail, type: SEND_EMAIL, settings: {}}
        """,
        "flows/orders.yaml: flow 'orders': step 'mail': unknown step type 'SEND_EMAIL'; use one of "
        "PIECE, CODE, LOOP_ON_ITEMS, ROUTER, MULTIPLE_CHOICE",
    ),
    "unknown builder": (
        """
        flows:
          - key: orders
            display_name: Orders
            trigger: {catch_webhook: {}}
            steps:
              - {name: mail, send_email: {to: a@b.c}}
        """,
        "flows/orders.yaml: flow 'orders': step 'mail': unknown step type 'send_email'",
    ),
    "template to a missing step": (
        """
        flows:
          - key: orders
            display_name: Orders
            trigger: {catch_webhook: {}}
            steps:
              - name: reply
                return_response: {body: {total: "{{compute.total}}"}}
        """,
        "flows/orders.yaml: flow 'orders': step 'reply': template {{compute.total}} references step "
        "'compute', which this flow does not have; fix the name or add the step",
    ),
    "secret inline": (
        """
        connections:
          - external_id: slack-main
            display_name: Slack
            piece_name: "@activepieces/piece-slack"
            value: {type: SECRET_TEXT, secret_text: xoxb-1234}
        """,
        "flows/orders.yaml: connection 'slack-main': a secret is written inline (`value`); secrets "
        "never go in these files: remove it and write `secret: {env: VARIABLE_NAME}`",
    ),
    "secret as text": (
        """
        connections:
          - {external_id: slack-main, display_name: Slack, piece_name: "@activepieces/piece-slack", secret: xoxb-1234}
        """,
        "connection 'slack-main': a secret is written inline (`secret`)",
    ),
    "undeclared folder": (
        """
        flows:
          - {key: orders, display_name: Orders, folder: Sales, trigger: {catch_webhook: {}}}
        """,
        "flow 'orders': folder 'Sales' is not declared; add `folders: [{name: Sales}]` to a file",
    ),
    "misspelt key": (
        """
        flows:
          - {key: orders, display_name: Orders, statuss: ENABLED, trigger: {catch_webhook: {}}}
        """,
        "flows/orders.yaml: flow 'orders': statuss: Extra inputs are not permitted",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_files_are_refused_before_any_request(tenants: Tenants, tmp_path: Path, case: str) -> None:
    text, expected = BAD[case]
    (tmp_path / "flows").mkdir()
    (tmp_path / "flows" / "orders.yaml").write_text(textwrap.dedent(text))
    before = tenants.engine.control.counters()["requests"]
    env = {"IMBRACE_API_KEY": tenants.b.api_key, "IMBRACE_GATEWAY_URL": tenants.engine.url}
    for command in ("plan", "apply"):
        result = CliRunner().invoke(app, [command, str(tmp_path)], env=env)
        assert result.exit_code == 1, result.output
        assert expected in result.output
        assert "xoxb-1234" not in result.output
    assert tenants.engine.control.counters()["requests"] == before  # not one request


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    for name, (text, _) in BAD.items():
        (tmp_path / f"{name.replace(' ', '_')}.yaml").write_text(textwrap.dedent(text))
    with pytest.raises(AsCodeFilesError) as refused:
        load_directory(tmp_path)
    assert len(refused.value.problems) >= 6


def test_builder_form_applies_and_round_trips(tenants: Tenants, tmp_path: Path) -> None:
    (tmp_path / "greet.yaml").write_text(GOOD_FLOW.replace("URL", tenants.engine.url))
    env = {"IMBRACE_API_KEY": tenants.b.api_key, "IMBRACE_GATEWAY_URL": tenants.engine.url}
    result = CliRunner().invoke(app, ["apply", str(tmp_path)], env=env)
    assert result.exit_code == 0, result.output
    flow = next(tenants.b.client.workflows.iter_flows())
    reply = tenants.b.client.workflows.trigger_flow_sync(flow_id=flow.id, payload={"name": "Ada"})
    assert reply.body == {"hello": "Ada", "engine": "ok"}
    result = CliRunner().invoke(app, ["plan", str(tmp_path)], env=env)
    assert result.exit_code == 0, result.output
    # exported in the engine's shape, the same flow is still "no changes"
    exported = tmp_path.parent / "exported"
    assert CliRunner().invoke(app, ["export", str(exported)], env=env).exit_code == 0
    assert CliRunner().invoke(app, ["plan", str(exported)], env=env).exit_code == 0


def test_published_schema_is_current() -> None:
    assert PUBLISHED.read_text() == schema_text(), (
        "regenerate: uv run prefect-imbrace schema prefect_imbrace/as_code/imbrace.schema.json"
    )
    props = schema_dict()["properties"]
    assert set(props) == {"folders", "connections", "tables", "flows", "mcp_servers"}
    assert json.loads(PUBLISHED.read_text())["$schema"].endswith("2020-12/schema")


def test_webhook_auth_secrets_are_references_never_values(tenants: Tenants, tmp_path: Path) -> None:
    """A header-auth webhook: export writes a `$secret` reference, plan shows only `(secret)`."""
    from prefect_imbrace.client import operations as ops

    wf = tenants.a.client.workflows
    flow = wf.create_flow(display_name="Guarded")
    hook = ops.catch_webhook(auth_type="header", auth_fields={"headerName": "x-hook", "headerValue": "hook-s3cret"})
    for operation in (ops.update_trigger(trigger=hook),
                      ops.add_action(parent_step="trigger", action=ops.return_response(name="reply", body={"ok": True})),
                      ops.lock_and_publish()):
        wf.apply_flow_operation(flow_id=flow.id, operation=operation)
    env = {"IMBRACE_GATEWAY_URL": tenants.engine.url, "IMBRACE_SECRET_GUARDED_HEADERVALUE": "hook-s3cret"}

    result = CliRunner().invoke(app, ["export", str(tmp_path)], env={**env, "IMBRACE_API_KEY": tenants.a.api_key})
    assert result.exit_code == 0, result.output
    text = (tmp_path / "flows" / "guarded.yaml").read_text()
    assert "hook-s3cret" not in text and "$secret:\n" in text and "env: IMBRACE_SECRET_GUARDED_HEADERVALUE" in text

    b_env = {**env, "IMBRACE_API_KEY": tenants.b.api_key}
    result = CliRunner().invoke(app, ["apply", str(tmp_path)], env=b_env)
    assert result.exit_code == 0, result.output
    b_flow = next(tenants.b.client.workflows.iter_flows())
    b_trigger = tenants.b.client.workflows.get_flow(flow_id=b_flow.id).version.trigger
    assert b_trigger.settings.input["authFields"]["headerValue"] == "hook-s3cret"
    assert CliRunner().invoke(app, ["plan", str(tmp_path)], env=b_env).exit_code == 0

    changed = ops.catch_webhook(auth_type="header", auth_fields={"headerName": "x-hook", "headerValue": "leaked-value"})
    tenants.b.client.workflows.apply_flow_operation(flow_id=b_flow.id, operation=ops.update_trigger(trigger=changed))
    result = CliRunner().invoke(app, ["plan", str(tmp_path)], env=b_env)
    assert result.exit_code == 2
    assert "trigger: settings.input.authFields.headerValue: (secret, different) -> (secret)" in result.output
    assert "leaked-value" not in result.output and "hook-s3cret" not in result.output
    result = CliRunner().invoke(app, ["apply", str(tmp_path)], env=b_env)
    assert result.exit_code == 0 and "leaked-value" not in result.output

    reference = "headerValue:\n            $secret:\n              env: IMBRACE_SECRET_GUARDED_HEADERVALUE"
    assert reference in text
    (tmp_path / "flows" / "guarded.yaml").write_text(text.replace(reference, "headerValue: hook-s3cret"))
    result = CliRunner().invoke(app, ["plan", str(tmp_path)], env=b_env)
    assert result.exit_code == 1
    assert "a secret is written inline (`authFields.headerValue`)" in result.output
