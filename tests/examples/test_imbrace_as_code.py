"""The as-code example: its files apply to Imbrace Local, its Prefect flow triggers the Imbrace
flow by key, its prefect.yaml names the deployment step (run for real in tests/as_code)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml
from prefect.flows import load_flow_from_entrypoint
from prefect.utilities.importtools import import_object

from prefect_imbrace.as_code import apply_declared, compute_plan, load_directory

EXAMPLE = Path(__file__).resolve().parents[2] / "flows" / "imbrace_as_code"
sys.path.insert(0, str(EXAMPLE))

import trigger_order_intake  # noqa: E402

pytestmark = pytest.mark.usefixtures("prefect_api")


def test_files_apply_and_both_branches_answer(target):
    declared = load_directory(EXAMPLE / "imbrace")
    with target.client() as client:
        result = apply_declared(client, declared)
        assert result.ok, result.summary()
        assert not compute_plan(client, declared).has_changes
        flow_id = result.flow_ids["order-intake"]
        big = client.workflows.trigger_flow_sync(flow_id=flow_id, payload={"id": "B-7", "total": 300, "lines": [1, 2, 3]})
        small = client.workflows.trigger_flow_sync(flow_id=flow_id, payload={"id": "S-1", "total": 20, "lines": []})
    assert big.body == {"route": "review", "order": "B-7", "lines": 3}
    assert small.body == {"route": "auto", "order": "S-1"}


def test_the_prefect_flow_triggers_the_imbrace_flow_by_key(target, block):
    with target.client() as client:
        flow_id = apply_declared(client, load_directory(EXAMPLE / "imbrace")).flow_ids["order-intake"]

    outcome = trigger_order_intake.trigger_order_intake({"id": "A-1", "total": 250, "lines": [1]}, credentials_block=block)

    assert outcome["flow_id"] == flow_id and outcome["status"] == "SUCCEEDED"
    assert target.engine.control.counters()["runs_per_flow"] == {flow_id: 1}


def test_prefect_yaml_uses_the_step_and_a_loadable_entrypoint():
    config = yaml.safe_load((EXAMPLE / "prefect.yaml").read_text())
    (step,) = config["build"]
    ((name, args),) = step.items()
    assert import_object(name).__name__ == "apply_imbrace_flows"
    assert args == {"id": "imbrace", "directory": "imbrace", "credentials_block": "imbrace"}
    (deployment,) = config["deployments"]
    loaded = load_flow_from_entrypoint(str(EXAMPLE / deployment["entrypoint"]))
    assert loaded.name == "trigger-order-intake"
