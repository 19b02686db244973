"""watch_500, prefect_fanout_500 and the memory of the watching process.

Every trial is one fresh worker process (`_watch_worker.py`) against the same Imbrace Local
subprocess: the engine is reset, a fresh Imbrace flow (webhook -> Delay For 1 s) is published,
then the side triggers N runs and waits until all are terminal. Requests are counted on the
engine (`engine.control.counters()`). Client and SDK trials run in back-to-back pairs (order
alternating) and the client ratio is the median of the pair ratios, so drift cancels within a
pair; the long layer and Prefect trials run between pairs. Other figures are medians.

Two network settings: loopback as is, and a simulated gateway round trip (`RTT_MS` added by
Imbrace Local to every engine request through its latency fault), because the gap between one
list call per tick and one GET per run per tick only shows when a request costs what it costs
over the internet. Both are reported; neither replaces the other.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from typing import Any

from ._common import (
    HARNESS,
    ROOT,
    LocalProcess,
    Metric,
    PrefectTarget,
    classify_requests,
    delay_flow,
    median,
    publish_flow,
)

DELAY_S = 1.0
TICK_S = 0.5
RTT_MS = 50
WATCH_GOAL = 0.5  # the bare client's list polling vs the SDK
LAYER_GOAL = {"": 1.0, "rtt": 0.5}  # the Prefect layer vs the SDK: loopback, 50 ms round trip
FANOUT_GOAL = 2.0
TASKS_GOAL = 1.5  # prefect_fanout[tasks] vs prefect_fanout[hand-written]: what the package adds
PREFECT_SIDES = ("prefect", "prefect_memrec", "prefect_many", "prefect_floor", "prefect_hand")


def reply_flow(url: str, api_key: str, seconds: float, name: str) -> str:
    """trigger -> Delay For `seconds` -> Return Response: the sync webhook answers at its end."""
    from prefect_imbrace.client import operations as ops

    return publish_flow(url, api_key, name, [ops.delay("step_1", seconds),
                                             ops.return_response("step_2", body={"ok": True})])


def _phases(engine: LocalProcess, flow_id: str, t0_epoch: float, wall: float) -> dict[str, float]:
    """Where a trial's wall time went, from the engine's own timestamps (read after counting).

    `triggers_done_s`: last run created; `runs_done_s`: last run finished (both from the side's
    first trigger); `detect_s`: wall minus runs_done_s, how long the side took to know.
    """
    from prefect_imbrace.client import ImbraceClient

    created: list[float] = []
    finished: list[float] = []
    with ImbraceClient(gateway=engine.url, api_key=engine.api_key) as client:
        for run in client.workflows.iter_runs(flow_id=flow_id).take(10_000):
            if run.created:
                created.append(run.created.timestamp())
            if run.finish_time:
                finished.append(run.finish_time.timestamp())
    if not created or not finished:
        return {}
    runs_done = max(finished) - t0_epoch
    return {"triggers_done_s": round(max(created) - t0_epoch, 3), "runs_done_s": round(runs_done, 3),
            "detect_s": round(wall - runs_done, 3)}


def _trial(engine: LocalProcess, side: str, n: int, *, trace: bool = False, wait_timeout: float = 60.0,
           rtt_ms: int = 0, floor_sleep: float = DELAY_S, profile: bool = False,
           target: PrefectTarget = HARNESS) -> dict[str, Any]:
    control = engine.control
    control.reset()
    flows = reply_flow if side == "prefect_hand" else delay_flow
    flow_id = flows(engine.url, engine.api_key, DELAY_S, name=f"Watch {side}")
    if rtt_ms:  # every engine request (not /_local) waits rtt_ms before it is served
        control.add_fault(r"^/activepieces/", latency_ms=rtt_ms, times=10**9)
    before = control.counters()["requests"]
    cmd = [sys.executable, "-m", "benchmarks._watch_worker", "--side", side, "--url", engine.url,
           "--key", engine.api_key, "--flow", flow_id, "--n", str(n), "--tick", str(TICK_S),
           "--wait-timeout", str(wait_timeout), "--floor-sleep", f"{floor_sleep:.3f}"]
    if trace:
        cmd.append("--trace")
    if profile:
        cmd.append("--profile")
    if target.api_url and side.startswith("prefect"):
        cmd += ["--prefect-api-url", target.api_url,
                "--server-pids", ",".join(map(str, target.server_pids()))]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=900)
    control.clear_faults()
    after = control.counters()
    delta = {k: v - before.get(k, 0) for k, v in after["requests"].items() if v - before.get(k, 0)}
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        return {"side": side, "ok": False, "error": (proc.stderr or proc.stdout)[-2000:]}
    out = json.loads(lines[-1])
    out["requests"] = classify_requests(delta)
    out["runs_created"] = after["runs_per_flow"].get(flow_id, 0)
    out["ok"] = out.get("succeeded") == n
    out["rss_delta_kb"] = out["rss_peak_kb"] - out["rss_base_kb"]
    if side != "prefect_floor":
        out["phases"] = _phases(engine, flow_id, out["t0_epoch"], out["wall_s"])
    return out


def _summary(trials: list[dict[str, Any]]) -> dict[str, Any]:
    ok = [t for t in trials if t.get("ok")]
    if not trials:
        return {"ok": False, "errors": ["not run"]}
    if not ok:
        return {"ok": False, "errors": [t.get("error") or t.get("errors") or t for t in trials][:2]}
    return {
        "ok": True,
        "wall_s": median([t["wall_s"] for t in ok]),
        "walls_s": [round(t["wall_s"], 3) for t in ok],
        "requests": {k: int(median([t["requests"][k] for t in ok])) for k in ok[0]["requests"]},
        "ticks": int(median([t.get("ticks", 0) for t in ok])),
        "trigger_s": median([t["trigger_s"] for t in ok]) if "trigger_s" in ok[0] else None,
        "rss_delta_kb": int(median([t["rss_delta_kb"] for t in ok])),
        "poller": ok[-1].get("poller"),
        "phases": {k: median([t["phases"][k] for t in ok if t.get("phases")])
                   for k in (ok[0].get("phases") or {})},
        "cpu_s": {k: median([t.get(k, 0.0) for t in ok]) for k in ("process_cpu_s", "children_cpu_s")},
        "failed_trials": len(trials) - len(ok),
        **({"record_variables": [t["record_variables"] for t in ok]} if "record_variables" in ok[0] else {}),
    }


class _Scenario:
    """The trials of one network setting: client/SDK pairs, plus the sides run between pairs."""

    def __init__(self, engine: LocalProcess, n: int, rtt_ms: int, wait_timeout: float):
        self.engine, self.n, self.rtt_ms, self.wait_timeout = engine, n, rtt_ms, wait_timeout
        self.results: dict[str, list[dict[str, Any]]] = {}
        self.pair_ratios: list[float] = []

    def trial(self, side: str, trace: bool = False, profile: bool = False,
              target: PrefectTarget = HARNESS, **kwargs: Any) -> dict[str, Any]:
        """One trial; its result is kept under `side + target.suffix` (e.g. `prefect@scaled`)."""
        out = _trial(self.engine, side, self.n, trace=trace, wait_timeout=self.wait_timeout,
                     rtt_ms=self.rtt_ms, profile=profile, target=target, **kwargs)
        where = f" @{self.rtt_ms}ms" if self.rtt_ms else ""
        kind = "memory" if trace else "profile" if profile else "watch"
        print(f"  {kind} trial {side}{target.suffix}{where}: {_brief(out)}", flush=True)
        if not (trace or profile):
            self.results.setdefault(side + target.suffix, []).append(out)
        return out

    def pair(self, first_client: bool) -> None:
        order = ("client", "sdk") if first_client else ("sdk", "client")
        pair = {side: self.trial(side) for side in order}
        if pair["client"].get("ok") and pair["sdk"].get("ok"):
            self.pair_ratios.append(pair["client"]["wall_s"] / pair["sdk"]["wall_s"])

    def client_wall(self) -> float:
        walls = [t["wall_s"] for t in self.results.get("client", []) if t.get("ok")]
        return median(walls) if walls else DELAY_S

    def summaries(self) -> dict[str, dict[str, Any]]:
        return {side: _summary(trials) for side, trials in self.results.items()}


def run(quick: bool, *, smoke: bool = False, targets: tuple[PrefectTarget, ...] = (HARNESS,),
        size: int | None = None) -> list[Metric]:
    """`smoke`: 5 runs, our client and the SDK only, no traced trials (tests/benchmarks: code paths only).

    `targets`: the Prefect APIs the Prefect sides run on, each in the same run (the harness
    by default; `run.py --prefect-api-url` / `--scaled-stack`). `size`: runs per trial instead
    of 500 (50 quick), to check the code paths at toy sizes.
    """
    n = size or (5 if smoke else 50 if quick else 500)
    pairs = 1 if smoke or quick else 5  # client/SDK pairs (cheap trials)
    heavy_after = set() if smoke else {0} if quick else {1, 3}  # pairs after which layer and prefect run
    wait_timeout = 60.0 if quick or smoke else 300.0  # per-run wait limit of the layer sides (runs take ~1 s)
    memory: dict[str, dict[str, Any]] = {}
    with LocalProcess() as engine:
        loop = _Scenario(engine, n, 0, wait_timeout)
        for r in range(pairs):
            loop.pair(first_client=r % 2 == 0)
            if r in heavy_after:
                heavy = [("layer", HARNESS), *((side, target) for target in targets for side in PREFECT_SIDES)]
                for side, target in heavy if len(loop.results.get("layer", [])) % 2 == 0 else heavy[::-1]:
                    loop.trial(side, floor_sleep=loop.client_wall(), target=target)
        for side in ("client", "sdk", "layer"):
            layer_walls = [t["wall_s"] for t in loop.results.get("layer", []) if t.get("ok")]
            if smoke or (side == "layer" and (quick or not layer_walls or min(layer_walls) > 30)):
                continue  # quick, failed or slow above: tracemalloc would only multiply that
            memory[side] = loop.trial(side, trace=True)
        # one cProfiled trial of each Prefect side (its wall time is not used)
        profiles = {} if smoke else {side: loop.trial(side, profile=True, floor_sleep=loop.client_wall(),
                                                      target=targets[0])
                                     for side in ("layer", "prefect", "prefect_many")}
        rtt = _Scenario(engine, n, RTT_MS, wait_timeout)
        for r in range(2 if pairs > 1 else 1):
            rtt.pair(first_client=r % 2 == 0)
        if not smoke:
            rtt.trial("layer")
    metrics = _watch_metrics(n, loop.summaries(), loop.pair_ratios, "")
    metrics += _watch_metrics(n, rtt.summaries(), rtt.pair_ratios, f"@{RTT_MS}ms_rtt")
    metrics += _memory_metrics(n, loop.summaries(), memory)
    for i, target in enumerate(targets):
        metrics += _fanout_metrics(n, loop.summaries(), profiles if i == 0 else {}, target)
    return metrics


def _brief(t: dict[str, Any]) -> str:
    if not t.get("ok"):
        return f"FAILED {str(t.get('error') or t.get('errors'))[-300:]}"
    return f"{t['wall_s']:.2f}s requests={t['requests']['total']} rss+{t['rss_delta_kb']}kB"


_LABELS = {"client": "client list polling", "layer": "prefect layer atrigger_and_wait"}


def _watch_metrics(n: int, s: dict[str, dict[str, Any]], pair_ratios: list[float], where: str) -> list[Metric]:
    pages = math.ceil(n / 100)
    sdk = s.get("sdk", {"ok": False, "errors": ["not run"]})
    out: list[Metric] = []
    name = f"watch_{n}{where}"
    network = f"every engine request delayed {where[1:].split('_')[0]} (simulated gateway round trip)" if where else "loopback"
    common = (f"{n} runs of webhook -> Delay For {DELAY_S:g}s, poll tick {TICK_S}s, {network}; wall from first "
              f"trigger to all terminal; baseline official SDK, 10 threads, one get_run per unfinished run per tick")
    for side, label in _LABELS.items():
        ours = s.get(side)
        if ours is None:
            continue
        limit = WATCH_GOAL if side == "client" else LAYER_GOAL["rtt" if where else ""]
        if not (ours["ok"] and sdk["ok"]):
            out.append(Metric(name=f"{name}[{label}]", value=None, unit="s", goal=f"ratio <= {limit}",
                              met=False, notes="did not complete: " + str(ours.get("errors") or sdk.get("errors"))[:600]))
            continue
        # client: median of the ratios of back-to-back client/SDK pairs (drift cancels within a
        # pair); layer: ratio of medians (its trials are too long to pair).
        ratio = median(pair_ratios) if side == "client" and pair_ratios else ours["wall_s"] / sdk["wall_s"]
        out.append(Metric(name=f"{name}[{label}]", value=round(ours["wall_s"], 3), unit="s",
                          baseline=round(sdk["wall_s"], 3), ratio=round(ratio, 3), goal=f"ratio <= {limit}",
                          met=ratio <= limit, notes=common,
                          details={"ours": ours, "sdk": sdk,
                                   **({"pair_ratios": [round(x, 3) for x in pair_ratios]} if side == "client" else {})}))
        req = ours["requests"]
        ticks = ours["ticks"] if side == "client" else math.ceil(req["list_runs"] / pages)
        allowed = n + ticks * pages
        # the layer also GETs each run once (its key and final steps: the result it returns)
        goal = f"<= {n} + ticks x {pages} = {allowed}" if side == "client" else "report"
        out.append(Metric(name=f"{name}_requests[{label}]", value=req["total"], unit="requests",
                          baseline=sdk["requests"]["total"], ratio=round(req["total"] / sdk["requests"]["total"], 3),
                          goal=goal, met=req["total"] <= allowed if side == "client" else None,
                          notes=f"engine-side counts; ticks={ticks}",
                          details={"ours": req, "sdk": sdk["requests"]}))
    for side, label in (("sdk", "official SDK"), *_LABELS.items()):
        phases = (s.get(side) or {}).get("phases") or {}
        if "detect_s" in phases:
            out.append(Metric(name=f"{name}_detect_s[{label}]", value=round(phases["detect_s"], 3), unit="s",
                              goal="report", met=None,
                              notes="time from the last run's end (engine finishTime) to the side knowing "
                                    "every run ended (median of trials)"))
    return out


def _memory_metrics(n: int, s: dict[str, dict[str, Any]], memory: dict[str, dict[str, Any]]) -> list[Metric]:
    out: list[Metric] = []
    sdk = s.get("sdk", {"ok": False})
    for side, label in _LABELS.items():
        ours = s.get(side, {"ok": False})
        if ours["ok"] and sdk["ok"]:
            rss, brss = ours["rss_delta_kb"], sdk["rss_delta_kb"]
            out.append(Metric(name=f"watch_{n}_rss_delta[{label}]", value=rss, unit="KiB",
                              baseline=brss, ratio=round(rss / max(brss, 1), 3), goal="report", met=None,
                              notes="peak RSS minus RSS after imports and transport warm-up, untraced trials (median)"))
        mine, base = memory.get(side, {}), memory.get("sdk", {})
        if mine.get("ok") and base.get("ok"):
            peak, bpeak = mine["tracemalloc_peak_kb"], base["tracemalloc_peak_kb"]
            out.append(Metric(name=f"watch_{n}_tracemalloc_peak[{label}]", value=peak, unit="KiB",
                              baseline=bpeak, ratio=round(peak / bpeak, 3), goal="report", met=None,
                              notes="peak Python allocations while watching (separate traced trial)"))
    return out


_FANOUT = {
    "prefect": ("tasks", "hand", f"ratio <= {TASKS_GOAL}",
                "{n} atrigger_flow_and_wait task runs gathered in one async Prefect flow"),
    "prefect_memrec": ("tasks, records in memory", "hand", "report",
                       "[tasks] with the trigger records kept in process memory instead of Prefect "
                       "Variables: the difference to [tasks] is what the durable record costs"),
    "prefect_many": ("many", "client", f"ratio <= {FANOUT_GOAL}",
                     "one trigger_many_and_wait task run for the {n} payloads"),
    "prefect_hand": ("hand-written", "client", "report",
                     "{n} Prefect task runs in one flow, each calling trigger_flow_sync on one shared bare "
                     "AsyncImbraceClient (the sync webhook answers with the Imbrace flow's reply; no "
                     "exactly-once, no artifacts): what a user writes without this package"),
    "prefect_floor": ("floor", "client", "report",
                      "{n} Prefect task runs that only sleep as long as the bare client's whole fan-out, "
                      "gathered in one flow: Prefect's own cost of {n} task runs"),
}
"""side: (name in brackets, baseline side, goal, what it measures). Baselines: `hand` is the
side `prefect_hand` on the same Prefect API; `client` is the bare async client (no Prefect)."""


def format_profile(trial: dict[str, Any]) -> str:
    """A profiled trial as text: wall, CPU, main-thread time by package, top functions."""
    if not trial.get("ok") or "main_thread_top_cumulative" not in trial:
        return ""
    lines = [f"wall {trial['wall_s']:.2f} s; CPU of this process {trial['process_cpu_s']:.2f} s (all threads), "
             f"of its children (the Prefect test server) {trial['children_cpu_s']:.2f} s; under cProfile",
             "main thread (event loop), own time by package:"]
    lines += [f"  {pkg:<20} {sec:7.3f} s" for pkg, sec in trial["main_thread_tottime_by_package_s"].items()]
    lines += ["main thread, top functions by cumulative time:"]
    lines += [f"  {row}" for row in trial["main_thread_top_cumulative"][:25]]
    return "\n".join(lines)


def _fanout_metrics(n: int, s: dict[str, dict[str, Any]], profiles: dict[str, dict[str, Any]],
                    target: PrefectTarget = HARNESS) -> list[Metric]:
    """prefect_fanout_N[...] of one Prefect API (`target`); names carry its suffix (`@scaled`)."""
    out: list[Metric] = []
    bare = s.get("client", {"ok": False, "errors": ["not run"]})
    not_run = {"ok": False, "errors": ["not run"]}
    for side, (short, against, goal, what) in _FANOUT.items():
        pf = s.get(side + target.suffix)
        if pf is None:
            continue
        if target.suffix:  # issue 21: the goals hold on the default server; other APIs are reported
            goal = "report"
        name = f"prefect_fanout_{n}[{short}]{target.suffix}"
        base = bare if against == "client" else s.get("prefect_hand" + target.suffix, not_run)
        base_label = ("the bare async client (list polling)" if against == "client" else
                      "[hand-written], the same number of Prefect tasks calling the sync webhook")
        notes = f"{what.format(n=n)} ({target.label}) vs {base_label}"
        floor = s.get("prefect_floor" + target.suffix, not_run)
        if pf["ok"] and base["ok"]:
            ratio = pf["wall_s"] / base["wall_s"]
            limit = TASKS_GOAL if side == "prefect" else FANOUT_GOAL
            met = ratio <= limit if goal != "report" else None
            profile = format_profile(profiles.get(side, {})) if met is False else ""
            layer_profile = format_profile(profiles.get("layer", {})) if met is False else ""
            out.append(Metric(name=name, value=round(pf["wall_s"], 3), unit="s", baseline=round(base["wall_s"], 3),
                              ratio=round(ratio, 3), goal=goal, met=met,
                              notes=notes, details={"prefect": pf, "bare_client": bare,
                                                    "prefect_api": target.label,
                                                    "ratio_to_floor": (round(pf["wall_s"] / floor["wall_s"], 3)
                                                                       if floor["ok"] else None),
                                                    "layer_no_flow_s": s.get("layer", {}).get("wall_s"),
                                                    **({"profile": profile} if profile else {}),
                                                    **({"layer_profile": layer_profile} if layer_profile else {})}))
        else:
            out.append(Metric(name=name, value=None, unit="s", goal=goal, met=False if goal != "report" else None,
                              notes="did not complete: " + str(pf.get("errors") or base.get("errors"))[:600]))
    return out
