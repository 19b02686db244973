"""The observer reports runs started outside Prefect as events, once each."""

from __future__ import annotations

import observe_runs
import pytest
from imbrace_demo import build_echo

from .examples_helpers import read_events

pytestmark = pytest.mark.usefixtures("prefect_api")


def test_runs_started_without_prefect_become_events(target, block):
    with target.client() as client:
        flow_id = build_echo(client, "Observed")
        run_ids = observe_runs.start_runs_outside_prefect(client, flow_id, 3)

    emitted = observe_runs.observe_runs([flow_id], block, variable_name="observer-test")

    assert emitted == 3
    for run_id in run_ids:
        (event,) = read_events(f"imbrace.flow-run.{run_id}", "imbrace.flow-run.succeeded")
        assert event.payload["flow_id"] == flow_id
        assert event.payload["status"] == "SUCCEEDED"
    assert observe_runs.observe_runs([flow_id], block, variable_name="observer-test") == 0
