"""Faults injected by Imbrace Local's control plane while Prefect flows trigger and wait.

Each scenario sends M logical triggers (one `trigger_flow_and_wait` task run each) through a
real Prefect flow, with a fault armed on the engine, then counts the engine's runs per
correlation key: exactly one each, none lost, and every task run in the expected final state.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from reliability_figures import record_fault, record_outcome
from reliability_prefect import fan_out, state_counts, task_runs
from reliability_support import exactly_once, per_fault

WEBHOOK = r"/activepieces/v1/webhooks/"
RUN_READS = r"/activepieces/v1/flow-runs"
READ_STORM = 12
"""Failed reads per polling storm. The poller shares one list call per tick among all waits, so
a storm's effect does not grow with M; what bounds it is the wait's error budget
(`max_poll_errors`, default 10 failed ticks, each already retried by the client). Storms
beyond the budget fail the wait: see test_failure_modes.py."""


@dataclass
class Scenario:
    faults: list[dict[str, Any]]
    """Keyword arguments of `control.add_fault`; `times` may be a function of M."""
    flow: str = "echo"
    task_options: dict[str, Any] = field(default_factory=dict)
    call_options: dict[str, Any] = field(default_factory=dict)
    creds: dict[str, Any] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    expect: str = "Completed"
    retried: bool = False
    """Some task runs must have needed a Prefect retry (run_count 2)."""


SCENARIOS = {
    "429 storm on triggers, Retry-After 1 s": Scenario(
        [dict(path=WEBHOOK, method="POST", status=429, headers={"retry-after": "1"}, times=lambda m: 2 * m)],
        task_options={"retries": 2, "retry_delay_seconds": 0},
    ),
    "429 storm on run polling": Scenario(
        [dict(path=RUN_READS, method="GET", status=429, headers={"retry-after": "0"}, times=READ_STORM)],
    ),
    "503 on triggers": Scenario(
        [dict(path=WEBHOOK, method="POST", status=503, times=lambda m: m)],
        task_options={"retries": 2, "retry_delay_seconds": 0},
    ),
    "500 on reads": Scenario([dict(path=RUN_READS, method="GET", status=500, times=READ_STORM)]),
    "lost response after a processed trigger": Scenario(
        [dict(path=WEBHOOK, method="POST", lost_response=True, times=lambda m: m)],
    ),
    "connection dropped on reads": Scenario(
        [dict(path=RUN_READS, method="GET", lost_response=True, times=READ_STORM)],
    ),
    "300 ms added latency on every call": Scenario(
        [dict(path=r"/activepieces/", latency_ms=300, times=lambda m: 6 * m)],
    ),
    "trigger timed out before the engine read it": Scenario(
        [dict(path=WEBHOOK, method="POST", latency_ms=1500, times=lambda m: m)],
        creds={"timeout": 1.0},
        # the engine reads each send 1.5 s after the client gave up (at 1 s); the grace must
        # outlast that on a loaded 2-core machine (2 s left 0.5 s and once let a re-send through)
        env={"PREFECT_INTEGRATIONS_IMBRACE_CORRELATION_GRACE": "5"},
        # a trigger may draw the fault on each of its 3 sends; task retries outlast the storm
        task_options={"retries": 2, "retry_delay_seconds": 0},
    ),
    "Prefect task retry after the wait failed (poll budget 0)": Scenario(
        [dict(path=RUN_READS, method="GET", status=500, times=lambda m: 4)],
        call_options={"max_poll_errors": 0},
        task_options={"retries": 1, "retry_delay_seconds": 0}, retried=True,
    ),
    "failing Imbrace flow": Scenario([], flow="failing", expect="Failed"),
    "slow runs (1.5 s) under 500s on reads": Scenario(
        [dict(path=RUN_READS, method="GET", status=500, times=READ_STORM)], flow="slow",
    ),
}


@pytest.mark.parametrize("name", list(SCENARIOS))
async def test_fault_keeps_exactly_once(name, engine, creds, flows, ledger, monkeypatch):
    scenario = SCENARIOS[name]
    m = per_fault()
    for key, value in scenario.env.items():
        monkeypatch.setenv(key, value)
    flow_id = {"echo": flows.echo, "failing": flows.failing,
               "slow": lambda: flows.slow(1.5)}[scenario.flow]()
    if scenario.creds:
        creds = creds.model_copy(update=scenario.creds)
    for spec in scenario.faults:
        spec = dict(spec)
        if callable(spec.get("times")):
            spec["times"] = spec["times"](m)
        engine.control.add_fault(**spec)

    flow_run_id = await fan_out(creds, flow_id, m, scenario.task_options, scenario.call_options)
    engine.control.clear_faults()

    runs = await task_runs(flow_run_id)
    states = state_counts(runs)
    counted, duplicates, lost = exactly_once(ledger.keys([flow_id]), m, states.get("Failed", 0))
    record_fault(name, m, counted, duplicates, lost, states)
    for run in runs:
        if run.state.name != "Completed":
            record_outcome(name, run.state.name, run.state.message or "")
    assert (duplicates, lost) == (0, 0), (counted, duplicates, lost)
    assert counted == m
    assert len(runs) == m
    assert states == {scenario.expect: m}, [r.state.message for r in runs]
    if scenario.retried:
        assert any(run.run_count > 1 for run in runs)
