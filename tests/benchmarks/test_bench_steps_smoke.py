"""The steps benchmark's code paths at toy size, and the counts it reports (no timing asserted).

The counts are the cost of steps in the open (docs/concepts/steps-in-prefect.md): one event and
one log per step task run, no HTTP write of their own, nothing for a fan-out of successful runs
by default.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import bench_steps  # noqa: E402


@pytest.mark.slow  # nine fresh processes, each with its own temporary Prefect server (~4 min)
def test_steps_bench_counts_one_event_and_one_log_per_step_task_run() -> None:
    metrics = {m.name: m for m in bench_steps.run(quick=True, smoke=True)}
    wait = metrics["steps_wait_10[all vs none]"]
    assert wait.value is not None, wait.notes
    assert wait.details["step_events"] == wait.details["step_logs"] == 11  # trigger + 10 steps
    assert wait.details["extra_http_writes_besides_log_batches"] == 0  # events go over the websocket
    quiet = metrics["steps_fanout_5[default vs none]"]
    assert quiet.value is not None and quiet.details["step_events"] == quiet.details["step_logs"] == 0
    loud = metrics["steps_fanout_5[all vs none]"]
    assert loud.details["step_events"] == loud.details["step_logs"] == 15  # run, trigger, step_1
    assert loud.details["extra_http_writes_besides_log_batches"] == 0
    tasks = metrics["steps_tasks_5[default vs none]"]
    assert tasks.details["step_events"] == tasks.details["step_logs"] == 10  # trigger, step_1
    observed = metrics["steps_observed_1[reflect vs events only]"]
    assert observed.value is not None, observed.notes
    assert observed.details["step_events"] == 2
    # the observed run's Prefect flow, its flow run, Running, its outcome
    assert observed.details["extra_http_writes_besides_log_batches"] == 4
