"""watch_500, prefect_fanout_500 and the memory of the watching process.

Every trial is one fresh worker process (`_watch_worker.py`) against the same Imbrace Local
subprocess: the engine is reset, a fresh Imbrace flow (webhook -> Delay For 1 s) is published,
then the side triggers N runs and waits until all are terminal. Requests are counted on the
engine (`engine.control.counters()`). Client and SDK trials run in back-to-back pairs (order
alternating) and the client ratio is the median of the pair ratios, so drift cancels within a
pair; the long layer and Prefect trials run between pairs. Other figures are medians.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from typing import Any

from ._common import ROOT, LocalProcess, Metric, classify_requests, delay_flow, median

DELAY_S = 1.0
TICK_S = 0.5
WATCH_GOAL = 0.5
FANOUT_GOAL = 2.0


def _trial(engine: LocalProcess, side: str, n: int, trace: bool = False, wait_timeout: float = 60.0) -> dict[str, Any]:
    control = engine.control
    control.reset()
    flow_id = delay_flow(engine.url, engine.api_key, DELAY_S, name=f"Watch {side}")
    before = control.counters()["requests"]
    cmd = [sys.executable, "-m", "benchmarks._watch_worker", "--side", side, "--url", engine.url,
           "--key", engine.api_key, "--flow", flow_id, "--n", str(n), "--tick", str(TICK_S),
           "--wait-timeout", str(wait_timeout)]
    if trace:
        cmd.append("--trace")
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=900)
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
        "failed_trials": len(trials) - len(ok),
    }


def run(quick: bool, *, smoke: bool = False) -> list[Metric]:
    """`smoke`: 5 runs, our client and the SDK only, no traced trials (tests/benchmarks: code paths only)."""
    n = 5 if smoke else 50 if quick else 500
    pairs = 1 if smoke or quick else 5  # client/SDK pairs (cheap trials)
    heavy_after = set() if smoke else {0} if quick else {1, 3}  # pairs after which layer and prefect run
    wait_timeout = 60.0 if quick or smoke else 300.0  # per-run wait limit of the layer sides (runs take ~1 s)
    results: dict[str, list[dict[str, Any]]] = {s: [] for s in ("client", "sdk", "layer", "prefect")}
    pair_ratios: list[float] = []
    memory: dict[str, dict[str, Any]] = {}

    def trial(side: str, trace: bool = False) -> dict[str, Any]:
        out = _trial(engine, side, n, trace=trace, wait_timeout=wait_timeout)
        print(f"  {'memory' if trace else 'watch'} trial {side}: {_brief(out)}", flush=True)
        return out

    with LocalProcess() as engine:
        for r in range(pairs):
            pair = {side: trial(side) for side in (("client", "sdk") if r % 2 == 0 else ("sdk", "client"))}
            for side, out in pair.items():
                results[side].append(out)
            if pair["client"].get("ok") and pair["sdk"].get("ok"):
                pair_ratios.append(pair["client"]["wall_s"] / pair["sdk"]["wall_s"])
            if r in heavy_after:
                for side in ("layer", "prefect") if len(results["layer"]) % 2 == 0 else ("prefect", "layer"):
                    results[side].append(trial(side))
        for side in ("client", "sdk", "layer"):
            layer_walls = [t["wall_s"] for t in results.get("layer", []) if t.get("ok")]
            if smoke or (side == "layer" and (quick or not layer_walls or min(layer_walls) > 30)):
                continue  # quick, failed or slow above: tracemalloc would only multiply that
            memory[side] = trial(side, trace=True)
    s = {side: _summary(results[side]) for side in ("client", "sdk", "layer", "prefect")}
    return _metrics(n, s, memory, pair_ratios)


def _brief(t: dict[str, Any]) -> str:
    if not t.get("ok"):
        return f"FAILED {str(t.get('error') or t.get('errors'))[-300:]}"
    return f"{t['wall_s']:.2f}s requests={t['requests']['total']} rss+{t['rss_delta_kb']}kB"


def _metrics(n: int, s: dict[str, dict[str, Any]], memory: dict[str, dict[str, Any]],
             pair_ratios: list[float]) -> list[Metric]:
    pages = math.ceil(n / 100)
    sdk = s["sdk"]
    out: list[Metric] = []
    name = f"watch_{n}"
    common = (f"{n} runs of webhook -> Delay For {DELAY_S:g}s, poll tick {TICK_S}s; wall from first trigger "
              f"to all terminal; baseline official SDK, {10} threads, one get_run per unfinished run per tick")
    for side, label in (("client", "client list polling"), ("layer", "prefect layer atrigger_and_wait")):
        ours = s[side]
        if not (ours["ok"] and sdk["ok"]):
            out.append(Metric(name=f"{name}[{label}]", value=None, unit="s", goal=f"ratio <= {WATCH_GOAL}",
                              met=False, notes="did not complete: " + str(ours.get("errors") or sdk.get("errors"))[:600]))
            continue
        # client: median of the ratios of back-to-back client/SDK pairs (drift cancels within a
        # pair); layer: ratio of medians (its trials are too long to pair).
        ratio = median(pair_ratios) if side == "client" and pair_ratios else ours["wall_s"] / sdk["wall_s"]
        out.append(Metric(name=f"{name}[{label}]", value=round(ours["wall_s"], 3), unit="s",
                          baseline=round(sdk["wall_s"], 3), ratio=round(ratio, 3), goal=f"ratio <= {WATCH_GOAL}",
                          met=ratio <= WATCH_GOAL, notes=common,
                          details={"ours": ours, "sdk": sdk,
                                   **({"pair_ratios": [round(x, 3) for x in pair_ratios]} if side == "client" else {})}))
        req = ours["requests"]
        ticks = ours["ticks"] if side == "client" else math.ceil(req["list_runs"] / pages)
        allowed = n + ticks * pages
        out.append(Metric(name=f"{name}_requests[{label}]", value=req["total"], unit="requests",
                          baseline=sdk["requests"]["total"], ratio=round(req["total"] / sdk["requests"]["total"], 3),
                          goal=f"<= {n} + ticks x {pages} = {allowed}", met=req["total"] <= allowed,
                          notes=f"engine-side counts; ticks={ticks}",
                          details={"ours": req, "sdk": sdk["requests"]}))
    for side, label in (("client", "client list polling"), ("layer", "prefect layer atrigger_and_wait")):
        ours = s[side]
        if ours["ok"] and sdk["ok"]:
            rss, brss = ours["rss_delta_kb"], sdk["rss_delta_kb"]
            out.append(Metric(name=f"{name}_rss_delta[{label}]", value=rss, unit="KiB",
                              baseline=brss, ratio=round(rss / max(brss, 1), 3), goal="report", met=None,
                              notes="peak RSS minus RSS after imports and transport warm-up, untraced trials (median)"))
        mine, base = memory.get(side, {}), memory.get("sdk", {})
        if mine.get("ok") and base.get("ok"):
            peak, bpeak = mine["tracemalloc_peak_kb"], base["tracemalloc_peak_kb"]
            out.append(Metric(name=f"{name}_tracemalloc_peak[{label}]", value=peak, unit="KiB",
                              baseline=bpeak, ratio=round(peak / bpeak, 3), goal="report", met=None,
                              notes="peak Python allocations while watching (separate traced trial)"))
    pf, bare = s["prefect"], s["client"]
    fname = f"prefect_fanout_{n}"
    if pf["ok"] and bare["ok"]:
        ratio = pf["wall_s"] / bare["wall_s"]
        out.append(Metric(name=fname, value=round(pf["wall_s"], 3), unit="s", baseline=round(bare["wall_s"], 3),
                          ratio=round(ratio, 3), goal=f"ratio <= {FANOUT_GOAL}", met=ratio <= FANOUT_GOAL,
                          notes=(f"{n} trigger_flow_and_wait task runs gathered in one async Prefect flow "
                                 "(prefect_test_harness) vs the bare async client (list polling)"),
                          details={"prefect": pf, "bare_client": bare,
                                   "layer_no_flow_s": s["layer"].get("wall_s")}))
    else:
        out.append(Metric(name=fname, value=None, unit="s", goal=f"ratio <= {FANOUT_GOAL}", met=False,
                          notes="did not complete: " + str(pf.get("errors") or bare.get("errors"))[:600]))
    return out
