"""The recurring trigger: the flow runs, the serve form carries the cron, prefect.yaml is sound."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import recurring_trigger
from croniter import croniter
from imbrace_demo import build_echo
from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import WorkPoolCreate
from prefect.flows import Flow, load_flow_from_entrypoint
from prefect.settings import PREFECT_API_URL

from .examples_helpers import load_prefect_yaml

FLOWS_DIR = Path(recurring_trigger.__file__).parent

pytestmark = pytest.mark.usefixtures("prefect_api")


def test_flow_triggers_the_imbrace_flow_once(target, block):
    with target.client() as client:
        flow_id = build_echo(client)

    outcome = recurring_trigger.recurring_trigger(flow_id, {"tick": 1}, block)

    assert outcome["status"] == "SUCCEEDED"
    assert outcome["payload"] == {"received": {"tick": 1}, "ok": True}
    assert target.engine.control.counters()["runs_per_flow"][flow_id] == 1


def test_serve_form_builds_a_cron_deployment():
    deployment = recurring_trigger.build_deployment("FLOWID", "my-block", cron="0 6 * * 1-5")

    assert deployment.name == recurring_trigger.DEPLOYMENT_NAME
    assert deployment.flow_name == "imbrace-recurring-trigger"
    assert [s.schedule.cron for s in deployment.schedules] == ["0 6 * * 1-5"]
    assert deployment.parameters == {"flow_id": "FLOWID", "credentials_block": "my-block"}


def test_prefect_yaml_entrypoints_exist_and_schedules_parse(monkeypatch):
    config = load_prefect_yaml(monkeypatch)
    deployments = {d["name"]: d for d in config["deployments"]}
    assert set(deployments) >= {"imbrace-every-15-minutes", "after-imbrace-upstream"}

    monkeypatch.chdir(FLOWS_DIR)
    for spec in deployments.values():
        loaded = load_flow_from_entrypoint(spec["entrypoint"])
        assert isinstance(loaded, Flow), spec["entrypoint"]
        assert set(spec.get("parameters", {})) <= set(loaded.parameters.properties)
        for schedule in spec.get("schedules", []):
            assert "cron" in schedule or "interval" in schedule
            if "cron" in schedule:
                assert croniter.is_valid(schedule["cron"])

    recurring = deployments["imbrace-every-15-minutes"]
    assert recurring["schedules"][0]["cron"] == recurring_trigger.DEFAULT_CRON
    assert recurring["parameters"]["flow_id"] == "imbrace_flow_id_value"


def test_prefect_deploy_creates_the_deployments_and_the_automation():
    """`prefect deploy --all` on flows/prefect.yaml, against the test Prefect API."""
    with get_client(sync_client=True) as client:
        client.create_work_pool(WorkPoolCreate(name="imbrace-examples", type="process"))
    variables = {"IMBRACE_FLOW_ID": "F1", "IMBRACE_UPSTREAM_FLOW_ID": "U1",
                 "IMBRACE_NEXT_FLOW_ID": "N1", "IMBRACE_ENRICH_FLOW_ID": "E1"}
    env = {**os.environ, **variables, "PREFECT_API_URL": PREFECT_API_URL.value()}
    deploy = subprocess.run(
        [sys.executable, "-m", "prefect", "--no-prompt", "deploy", "--all"],
        cwd=FLOWS_DIR, env=env, capture_output=True, text=True, timeout=300,
    )
    assert deploy.returncode == 0, deploy.stdout + deploy.stderr

    with get_client(sync_client=True) as client:
        deployments = {d.name: d for d in client.read_deployments()}
        automations = [a for a in client.read_automations() if a.name.startswith("after-imbrace")]
    recurring = deployments["imbrace-every-15-minutes"]
    assert [s.schedule.cron for s in recurring.schedules] == ["*/15 * * * *"]
    assert recurring.parameters == {"flow_id": "F1", "credentials_block": "imbrace"}
    assert {"after-imbrace-upstream", "imbrace-observer", "imbrace-table-pipeline"} <= set(deployments)
    (automation,) = automations
    assert automation.trigger.expect == {"imbrace.flow-run.succeeded"}
    assert automation.trigger.match_related["prefect.resource.id"] in ("imbrace.flow.U1", ["imbrace.flow.U1"])
    assert automation.actions[0].parameters["run_id"] == "{{ event.payload.run_id }}"
