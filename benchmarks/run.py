"""Run every benchmark against Imbrace Local on loopback and write benchmarks/results/latest.*.

    uv run python benchmarks/run.py            # full run (a few minutes)
    uv run python benchmarks/run.py --quick    # CI-sized (50 runs, fewer iterations; < 2 min)
    uv run python benchmarks/run.py --only local,overhead --out /tmp/bench
    uv run python benchmarks/run.py --only deployments   # real Prefect server + workers (~10 min)
    uv run python benchmarks/run.py --scaled-stack       # Prefect sides also on the scaled stack
    uv run python benchmarks/run.py --prefect-api-url http://127.0.0.1:4200/api   # any server
    uv run python benchmarks/run.py --only watch,deployments --size 5 --scaled-stack  # toy sizes

The Prefect sides (prefect_fanout_*, fleet_60, deferred_wait) run on a temporary
`prefect_test_harness` (watch) or a SQLite `prefect server start` (deployments) by default;
`--prefect-api-url URL` runs them on that server instead, and `--scaled-stack` starts the scaled
stack (PostgreSQL, Redis, two API workers, a services process: prefect_imbrace.testing_stack)
and runs them on it too, their names suffixed `@scaled`, beside the default ones.

Each metric is measured against its baseline in the same run (ratios), because absolute times
drift on shared machines. See docs/benchmarks.md for what every figure means.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import sys
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks._common import HARNESS, RESULTS, Metric, PrefectTarget, machine_info  # noqa: E402

GROUPS = ("overhead", "local", "watch", "steps", "deployments")
PREFECT_GROUPS = ("watch", "deployments")
"""Groups whose Prefect sides take `targets` (and `size`)."""


def _fmt(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.3f}".rstrip("0").rstrip(".") if abs(value) < 100 else f"{value:,.1f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def to_markdown(metrics: list[Metric], machine: dict[str, object], quick: bool) -> str:
    head = (f"Benchmarks ({'quick' if quick else 'full'} run) — {machine['date']}, {machine['cpu_count']} CPUs "
            f"({machine['cpu_model']}), Python {machine['python']}, load average at start "
            f"{machine.get('loadavg_start')}, at end {machine.get('loadavg_end')}; Prefect API of the "
            f"Prefect sides: {', '.join(map(str, machine.get('prefect_apis') or ['default']))}\n\n")
    rows = ["| metric | value | unit | baseline | ratio | goal | met |", "|---|---|---|---|---|---|---|"]
    for m in metrics:
        met = {True: "yes", False: "**no**", None: "-"}[m.met]
        rows.append(f"| {m.name} | {_fmt(m.value)} | {m.unit} | {_fmt(m.baseline)} | {_fmt(m.ratio)} | {m.goal} | {met} |")
    return head + "\n".join(rows) + "\n"


@contextlib.contextmanager
def prefect_targets(api_url: str, scaled_stack: bool) -> Iterator[tuple[PrefectTarget, ...]]:
    """The Prefect APIs of this run: `api_url` or the default, plus the scaled stack if asked.

    The stack is started through the test kit before the first group and stopped (every
    process by its PID, its folder removed) after the last.
    """
    first = PrefectTarget(api_url=api_url, suffix="", label=api_url) if api_url else HARNESS
    if not scaled_stack:
        yield (first,)
        return
    from prefect_imbrace.testing_stack import start_scaled_prefect_stack

    started = time.perf_counter()
    print("[scaled stack] starting PostgreSQL, Redis, 2 API workers, services...", flush=True)
    stack = start_scaled_prefect_stack()
    print(f"[scaled stack] healthy after {time.perf_counter() - started:.1f}s: {stack.api_url} "
          f"{stack.started_s}", flush=True)
    try:
        yield (first, PrefectTarget(api_url=stack.api_url, suffix="@scaled", server=stack,
                                    label="scaled stack: PostgreSQL, Redis, 2 API workers, services"))
    finally:
        stack.stop()
        shutil.rmtree(stack.home, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="CI-sized run")
    parser.add_argument("--only", default=",".join(GROUPS), help=f"comma list of {GROUPS}")
    parser.add_argument("--out", type=Path, default=RESULTS, help="directory for latest.json / latest.md")
    parser.add_argument("--prefect-api-url", default="",
                        help="run the Prefect sides on this server (http://host:port/api), not a temporary one")
    parser.add_argument("--scaled-stack", action="store_true",
                        help="also run the Prefect sides on the scaled stack (started and stopped here)")
    parser.add_argument("--size", type=int, default=None,
                        help="runs per fan-out / flow runs per fleet instead of the full sizes (toy checks)")
    args = parser.parse_args(argv)
    groups = [g.strip() for g in args.only.split(",") if g.strip()]
    unknown = sorted(set(groups) - set(GROUPS))
    if unknown:
        parser.error(f"unknown group(s) {unknown}; choose from {GROUPS}")

    machine = machine_info()
    machine["loadavg_start"] = [round(x, 2) for x in os.getloadavg()]
    metrics: list[Metric] = []
    with prefect_targets(args.prefect_api_url, args.scaled_stack) as targets:
        machine["prefect_apis"] = [t.label for t in targets]
        for group in groups:
            started = time.perf_counter()
            print(f"[{group}] running...", flush=True)
            module = __import__(f"benchmarks.bench_{group}", fromlist=["run"])
            options = {"targets": targets, "size": args.size} if group in PREFECT_GROUPS else {}
            metrics += module.run(args.quick, **options)
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
