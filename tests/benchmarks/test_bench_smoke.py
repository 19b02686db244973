"""The benchmark code paths, run at toy sizes for correctness only (no timing is asserted).

The real figures come from `uv run python benchmarks/run.py` (docs/benchmarks.md).
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import bench_local, bench_overhead, bench_watch, run  # noqa: E402
from benchmarks._common import Metric, machine_info  # noqa: E402


def _check(metrics: list[Metric], names: set[str]) -> None:
    by_name = {m.name: m for m in metrics}
    assert names <= set(by_name), sorted(by_name)
    for name in names:
        m = by_name[name]
        assert m.value is not None and math.isfinite(m.value) and m.value >= 0, m
        if m.baseline:
            assert m.ratio is not None and abs(m.ratio - m.value / m.baseline) < 1e-2, m
        if m.met is not None:
            assert isinstance(m.met, bool)


def test_client_overhead_paths() -> None:
    metrics = bench_overhead.run(quick=True, smoke=True)
    _check(metrics, {f"client_overhead_ratio[{kind} {op}]" for kind in ("sync", "async")
                     for op in ("GET get_flow", "POST create_folder")})


def test_local_engine_paths() -> None:
    metrics = bench_local.run(quick=True, smoke=True)
    _check(metrics, {"local_engine_get_per_s", "local_engine_webhook_to_succeeded_ms",
                     "local_engine_webhook_to_succeeded_ms[queued as the engine]",
                     "local_engine_sync_trigger_p50_ms", "local_engine_sync_trigger_p99_ms",
                     "local_engine_startup_s"})
    gets = next(m for m in metrics if m.name == "local_engine_get_per_s")
    assert gets.details["errors"] == 0


def test_watch_paths_count_requests_on_the_engine() -> None:
    metrics = bench_watch.run(quick=True, smoke=True)
    _check(metrics, {"watch_5[client list polling]", "watch_5_requests[client list polling]",
                     "watch_5_rss_delta[client list polling]", "watch_5@50ms_rtt[client list polling]"})
    requests = next(m for m in metrics if m.name == "watch_5_requests[client list polling]")
    ours, sdk = requests.details["ours"], requests.details["sdk"]
    assert ours["trigger"] == sdk["trigger"] == 5  # each side sent exactly one webhook per run
    assert ours["get_run"] == 0 and sdk["get_run"] >= 5  # list polling vs one GET per run per tick


def test_results_files_are_written(tmp_path: Path) -> None:
    metric = Metric(name="x", value=1.5, unit="s", baseline=3.0, ratio=0.5, goal="ratio <= 0.5", met=True)
    machine = machine_info()
    table = run.to_markdown([metric], machine, quick=True)
    assert "| x | 1.5 | s | 3 | 0.5 | ratio <= 0.5 | yes |" in table
    assert json.loads(json.dumps(metric.as_dict()))["met"] is True
    assert {"cpu_count", "python", "platform", "date"} <= set(machine)


def test_deployment_benchmarks_count_the_time_a_flow_run_held_a_worker() -> None:
    from datetime import datetime, timedelta, timezone

    from prefect.states import Completed, Pending, Running, Suspended

    from benchmarks import bench_deployments

    assert bench_deployments.run(quick=True) == []  # a real server: full runs only
    t0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
    states = []
    for offset, state in [(0, Pending()), (4, Running()), (9, Suspended()),
                          (130, Pending()), (134, Running()), (136, Completed())]:
        state.timestamp = t0 + timedelta(seconds=offset)
        states.append(state)
    assert bench_deployments._held_seconds(states) == 9 + 6  # two executions, not the suspension


def test_fan_out_ratios_take_their_baseline_on_the_same_prefect_api() -> None:
    from benchmarks import bench_watch
    from benchmarks._common import PrefectTarget

    def side(wall: float) -> dict:
        return {"ok": True, "wall_s": wall}

    scaled = PrefectTarget(api_url="http://127.0.0.1:1/api", suffix="@scaled", label="scaled")
    summaries = {"client": side(2.0), "prefect": side(9.0), "prefect_hand": side(6.0),
                 "prefect_floor": side(3.0), "prefect_many@scaled": side(5.0),
                 "prefect@scaled": side(12.0), "prefect_hand@scaled": side(8.0)}
    here = {m.name: m for m in bench_watch._fanout_metrics(500, summaries, {})}
    there = {m.name: m for m in bench_watch._fanout_metrics(500, summaries, {}, scaled)}
    assert here["prefect_fanout_500[tasks]"].ratio == 1.5  # against [hand-written], same API
    assert here["prefect_fanout_500[tasks]"].met is True
    assert here["prefect_fanout_500[tasks]"].details["ratio_to_floor"] == 3.0
    assert here["prefect_fanout_500[hand-written]"].baseline == 2.0  # the bare client
    assert set(there) == {"prefect_fanout_500[tasks]@scaled", "prefect_fanout_500[many]@scaled",
                          "prefect_fanout_500[hand-written]@scaled"}
    assert there["prefect_fanout_500[tasks]@scaled"].ratio == 1.5  # 12 / 8, not 12 / 6
    assert there["prefect_fanout_500[many]@scaled"].ratio == 2.5
    # issue 21 asks the goals of the default server; another API's ratios are reported
    assert {m.goal for m in there.values()} == {"report"} and {m.met for m in there.values()} == {None}
