"""Run every benchmark against Imbrace Local on loopback and write benchmarks/results/latest.*.

    uv run python benchmarks/run.py            # full run (a few minutes)
    uv run python benchmarks/run.py --quick    # CI-sized (50 runs, fewer iterations; < 2 min)
    uv run python benchmarks/run.py --only local,overhead --out /tmp/bench
    uv run python benchmarks/run.py --only deployments   # real Prefect server + workers (~10 min)

Each metric is measured against its baseline in the same run (ratios), because absolute times
drift on shared machines. See docs/benchmarks.md for what every figure means.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks._common import RESULTS, Metric, machine_info  # noqa: E402

GROUPS = ("overhead", "local", "watch", "deployments")


def _fmt(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.3f}".rstrip("0").rstrip(".") if abs(value) < 100 else f"{value:,.1f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def to_markdown(metrics: list[Metric], machine: dict[str, object], quick: bool) -> str:
    head = (f"Benchmarks ({'quick' if quick else 'full'} run) — {machine['date']}, {machine['cpu_count']} CPUs "
            f"({machine['cpu_model']}), Python {machine['python']}, load average at start "
            f"{machine.get('loadavg_start')}, at end {machine.get('loadavg_end')}\n\n")
    rows = ["| metric | value | unit | baseline | ratio | goal | met |", "|---|---|---|---|---|---|---|"]
    for m in metrics:
        met = {True: "yes", False: "**no**", None: "-"}[m.met]
        rows.append(f"| {m.name} | {_fmt(m.value)} | {m.unit} | {_fmt(m.baseline)} | {_fmt(m.ratio)} | {m.goal} | {met} |")
    return head + "\n".join(rows) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="CI-sized run")
    parser.add_argument("--only", default=",".join(GROUPS), help=f"comma list of {GROUPS}")
    parser.add_argument("--out", type=Path, default=RESULTS, help="directory for latest.json / latest.md")
    args = parser.parse_args(argv)
    groups = [g.strip() for g in args.only.split(",") if g.strip()]
    unknown = sorted(set(groups) - set(GROUPS))
    if unknown:
        parser.error(f"unknown group(s) {unknown}; choose from {GROUPS}")

    machine = machine_info()
    machine["loadavg_start"] = [round(x, 2) for x in os.getloadavg()]
    metrics: list[Metric] = []
    for group in groups:
        started = time.perf_counter()
        print(f"[{group}] running...", flush=True)
        module = __import__(f"benchmarks.bench_{group}", fromlist=["run"])
        metrics += module.run(args.quick)
        print(f"[{group}] done in {time.perf_counter() - started:.1f}s", flush=True)
    machine["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]

    records = [{**m.as_dict(), "machine": machine, "quick": args.quick} for m in metrics]
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "latest.json").write_text(json.dumps(records, indent=2, default=str) + "\n")
    table = to_markdown(metrics, machine, args.quick)
    profiles = [f"### {m.name}\n\n```\n{m.details['profile']}\n```\n" for m in metrics if m.details.get("profile")]
    profiles += [f"### {m.name}: the Prefect layer alone (no flow)\n\n```\n{m.details['layer_profile']}\n```\n"
                 for m in metrics if m.details.get("layer_profile")][:1]
    md = table + ("\n## Profiles of missed goals\n\n" + "\n".join(profiles) if profiles else "")
    (args.out / "latest.md").write_text(md)
    print()
    print(table)
    missed = [m.name for m in metrics if m.met is False]
    print(f"goals missed: {', '.join(missed) if missed else 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
