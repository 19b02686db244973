"""steps_*: what showing an Imbrace run's steps as Prefect task runs costs (issue 20).

Two cases against the same Imbrace Local subprocess, each side in a fresh process
(`_steps_worker.py`) under `prefect_test_harness()`, sides alternating in rounds (5 in a full
run; 3 for the observer):

* `steps_wait_10`: `trigger_flow_and_wait` on a flow of 10 data-mapper steps (11 step task runs
  with the trigger), `WAITS` waits one after another, `show_steps="all"` against `"none"`.
* `steps_fanout_N`: one `trigger_many_and_wait` over N payloads of a one-step flow, the default
  (`failed`: all runs succeed, so nothing is written) and `"all"` against `"none"`. The default
  must stay within 10 % of `"none"`: the fan-out figures of the exactly-once issue (21) must not
  move with steps on by default.
* `steps_tasks_N`: N `atrigger_flow_and_wait` task runs gathered in one flow (the `[tasks]` side
  of `prefect_fanout_500`), whose default is the single waits' (`auto`: 2 step task runs each
  until the flow run holds 200, so the first 100 runs), against `"none"`: what the default
  costs that figure, with the same 10 % goal. Its trials vary most (6.3 to 9.2 s for one
  side on a quiet machine), so it runs 9 rounds in a full run.
* `steps_observed_M`: one `observe_imbrace_runs` pass over M runs started outside Prefect
  (M = N / 5), `reflect_runs=True` (each run a flow run with its trigger and step as task runs)
  against the plain observer (events only). Reported.

Wall times are ratios within the run: each metric's ratio is the median of its rounds' ratios.
The counts (HTTP writes to the Prefect API, events, logs of step task runs) do not depend on
load; `details` keeps them per side.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from typing import Any

from ._common import ROOT, LocalProcess, Metric, mapper_flow, median

STEPS = 10
WAITS = 5
DEFAULT_GOAL = 1.10
AUTO_LIMIT = 200
"""PREFECT_INTEGRATIONS_IMBRACE_AUTO_STEPS_PER_FLOW_RUN's default (show_steps='auto')."""


def _trial(engine: LocalProcess, case: str, show: str, flow_id: str, n: int) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "benchmarks._steps_worker", "--case", case, "--show", show,
           "--url", engine.url, "--key", engine.api_key, "--flow", flow_id, "--n", str(n)]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=1800)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        return {"ok": False, "error": (proc.stderr or proc.stdout)[-2000:]}
    out = json.loads(lines[-1])
    out["ok"] = out["succeeded"] == n
    print(f"  steps trial {case} {show} n={n}: {out['wall_s']:.2f}s, "
          f"{out['events'].get('step task run', 0)} step events, http writes {out['http_writes']}",
          flush=True)
    return out


def _sides(engine: LocalProcess, case: str, new_flow: Callable[[], str], n: int, shows: tuple[str, ...],
           rounds: int) -> dict[str, list[dict[str, Any]]]:
    """`rounds` trials of each side, the order turned each round. Each trial starts on an empty
    engine with a new Imbrace flow: runs kept from earlier trials slow its listing (a 500-run
    fan-out took 1.7 s on a fresh engine and 4.3 s after 15 trials), which skewed whichever
    side ran later."""
    trials: dict[str, list[dict[str, Any]]] = {s: [] for s in shows}
    for r in range(rounds):
        for show in shows[r % len(shows):] + shows[:r % len(shows)]:
            engine.control.reset()
            trials[show].append(_trial(engine, case, show, new_flow(), n))
    return trials


def _metric(name: str, trials: dict[str, list[dict[str, Any]]], side: str, per: int, goal: float | None,
            notes: str) -> Metric:
    ok = {s: [t for t in ts if t.get("ok")] for s, ts in trials.items()}
    if not ok[side] or not ok["none"]:
        errors = [t.get("error") for ts in trials.values() for t in ts if not t.get("ok")]
        return Metric(name=name, value=None, unit="s", goal="report" if goal is None else f"ratio <= {goal}",
                      met=False if goal else None, notes="did not complete: " + str(errors[:1])[:600])
    wall, base = median([t["wall_s"] for t in ok[side]]), median([t["wall_s"] for t in ok["none"]])
    # the ratio is the median of each round's ratio (drift between rounds cancels within one)
    rounds = [a["wall_s"] / b["wall_s"] for a, b in zip(trials[side], trials["none"], strict=True)
              if a.get("ok") and b.get("ok")]
    ratio = median(rounds)
    last, off = ok[side][-1], ok["none"][-1]
    extra_writes = last["http_writes"] - off["http_writes"]
    # logs go out in batches every 2 s whatever writes them: count the other writes apart
    extra_other = (last["http_writes"] - last["http"].get("POST /api/logs/", 0)
                   - off["http_writes"] + off["http"].get("POST /api/logs/", 0))
    step_events = last["events"].get("step task run", 0)
    return Metric(
        name=name, value=round(wall, 3), unit="s", baseline=round(base, 3), ratio=round(ratio, 3),
        goal="report" if goal is None else f"ratio <= {goal}", met=None if goal is None else ratio <= goal,
        notes=notes,
        details={"step_events": step_events, "step_logs": last["logs"].get("step task run", 0),
                 "extra_http_writes": extra_writes, "extra_http_writes_besides_log_batches": extra_other,
                 "step_events_per_step": round(step_events / per, 3) if per else None,
                 "round_ratios": [round(x, 3) for x in rounds],
                 "walls_s": [round(t["wall_s"], 3) for t in ok[side]],
                 "baseline_walls_s": [round(t["wall_s"], 3) for t in ok["none"]],
                 "counts": {"with": {k: last[k] for k in ("http", "events", "logs")},
                            "none": {k: off[k] for k in ("http", "events", "logs")}}},
    )


def run(quick: bool, *, smoke: bool = False) -> list[Metric]:
    """`smoke`: toy sizes, one round (tests/benchmarks: code paths and counts only)."""
    n = 5 if smoke else 50 if quick else 500
    waits = 1 if smoke else WAITS
    rounds = 1 if smoke else 2 if quick else 5  # the fan-out sides last 2-8 s: medians of 5
    tasks_rounds = 1 if smoke else 2 if quick else 9  # its trials vary most: medians of 9

    with LocalProcess() as engine:
        def ten() -> str:
            return mapper_flow(engine.url, engine.api_key, steps=STEPS, name="Steps bench: 10 steps")

        def one() -> str:
            return mapper_flow(engine.url, engine.api_key, steps=1, name="Steps bench: 1 step")

        wait = _sides(engine, "wait", ten, waits, ("all", "none"), rounds)
        fan = _sides(engine, "fan_out", one, n, ("default", "all", "none"), rounds)
        tasks = _sides(engine, "tasks", one, n, ("default", "none"), tasks_rounds)
        observed = _sides(engine, "observe", one, max(n // 5, 1), ("all", "none"), min(rounds, 3))
    per_wait = waits * (STEPS + 1)
    shown = min(n, -(-AUTO_LIMIT // 2))  # runs shown whole while the flow run holds < AUTO_LIMIT
    return [
        _metric(f"steps_wait_{STEPS}[all vs none]", wait, "all", per_wait, None,
                f"{waits} trigger_flow_and_wait of a {STEPS}-step flow one after another "
                f"({STEPS + 1} step task runs each with the trigger); baseline show_steps='none'"),
        _metric(f"steps_fanout_{n}[default vs none]", fan, "default", 0, DEFAULT_GOAL,
                f"one trigger_many_and_wait of {n} one-step runs, all succeeding; default "
                f"show_fan_out_steps='failed' writes no step; baseline show_steps='none'"),
        _metric(f"steps_fanout_{n}[all vs none]", fan, "all", n * 3, None,
                f"the same fan-out with show_steps='all': a task run per Imbrace run, its trigger "
                f"and its step ({n * 3} task runs); baseline show_steps='none'"),
        _metric(f"steps_tasks_{n}[default vs none]", tasks, "default", shown * 2, DEFAULT_GOAL,
                f"{n} atrigger_flow_and_wait task runs gathered in one flow (prefect_fanout[tasks]); "
                f"default show_steps='auto' writes the trigger and the step of each run until the "
                f"flow run holds {AUTO_LIMIT} ({shown * 2} task runs); baseline show_steps='none'"),
        _metric(f"steps_observed_{max(n // 5, 1)}[reflect vs events only]", observed, "all",
                max(n // 5, 1) * 2, None,
                f"one observe_imbrace_runs pass over {max(n // 5, 1)} one-step runs started outside "
                f"Prefect, reflect_runs=True (a flow run each, 2 step task runs each); baseline "
                f"reflect_runs=False"),
    ]
