"""Event-driven chaining: the Imbrace event Prefect stores fires the deployment trigger."""

from __future__ import annotations

import event_chaining
import pytest
from imbrace_demo import build_echo
from prefect.cli.deploy._triggers import _initialize_deployment_triggers

from .examples_helpers import load_prefect_yaml

pytestmark = pytest.mark.usefixtures("prefect_api")


def test_success_event_matches_trigger_and_feeds_the_next_flow(target, block):
    with target.client() as client:
        upstream, other, following = (build_echo(client, n) for n in ("Up", "Other", "Next"))

    started = event_chaining.start_upstream(upstream, {"order": 7}, block)
    event = event_chaining.read_succeeded_event(started["run_id"])

    trigger = event_chaining.build_deployment(upstream, following, block).triggers[0]
    assert event.event == "imbrace.flow-run.succeeded"
    assert event_chaining.trigger_covers(trigger, event)
    assert not event_chaining.trigger_covers(event_chaining.success_trigger(other, following), event)

    parameters = event_chaining.render_parameters(trigger, event)
    assert parameters == {
        "run_id": started["run_id"], "next_flow_id": following, "credentials_block": block,
    }
    chained = event_chaining.after_upstream(**parameters)
    assert chained["payload"] == {"received": {"received": {"order": 7}, "ok": True}, "ok": True}


def test_prefect_yaml_trigger_matches_the_same_event(target, block, monkeypatch):
    with target.client() as client:
        upstream = build_echo(client, "Up")
    started = event_chaining.start_upstream(upstream, None, block)
    event = event_chaining.read_succeeded_event(started["run_id"])

    trigger = yaml_trigger(monkeypatch, upstream)
    assert event_chaining.trigger_covers(trigger, event)
    parameters = event_chaining.render_parameters(trigger, event)
    assert parameters["run_id"] == started["run_id"]
    assert parameters["next_flow_id"] == "imbrace_next_flow_id_value"
    assert not event_chaining.trigger_covers(yaml_trigger(monkeypatch, "some-other-flow"), event)


def yaml_trigger(monkeypatch, upstream: str):
    """The trigger `prefect deploy` builds from prefect.yaml for this upstream flow id."""
    config = load_prefect_yaml(monkeypatch, IMBRACE_UPSTREAM_FLOW_ID=upstream)
    spec = next(d for d in config["deployments"] if d["name"] == "after-imbrace-upstream")
    (trigger,) = _initialize_deployment_triggers(spec["name"], spec["triggers"])
    return trigger
