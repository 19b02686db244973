"""Figures of a reliability run: collected by the tests, written as JSON, rendered into the docs.

The tests call `record_fault`, `record_fuzz`, `record_leak_scan` and `record_outcome`; the
conftest's session-finish hook calls `write()` after a LONG run, which stores
`docs/reliability-figures.json` and rewrites the block between the figure markers of
`docs/reliability.md`. Run this file (`uv run python tests/reliability/reliability_figures.py`)
to re-render the docs from the stored JSON.
"""

from __future__ import annotations

import json
import sys
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
JSON_PATH = ROOT / "docs" / "reliability-figures.json"
DOC_PATH = ROOT / "docs" / "reliability.md"
START, END = "<!-- figures:start -->", "<!-- figures:end -->"

_lock = threading.Lock()
FIGURES: dict[str, Any] = {"faults": [], "fuzz": {}, "leak_scans": [], "outcomes": {}, "tenancy": {}}


def record_fault(name: str, triggers: int, runs: int, duplicates: int, lost: int, states: dict[str, int]) -> None:
    with _lock:
        FIGURES["faults"].append({"fault": name, "triggers": triggers, "runs": runs,
                                  "duplicates": duplicates, "lost": lost, "prefect_states": states})


def record_fuzz(target: str, inputs: int) -> None:
    with _lock:
        FIGURES["fuzz"][target] = FIGURES["fuzz"].get(target, 0) + inputs


def record_tenancy(check: str, requests: int, refused_as_engine: int) -> None:
    with _lock:
        FIGURES["tenancy"][check] = {"requests": requests, "refused_as_engine": refused_as_engine}


def record_leak_scan(scope: str, texts: int, leaks: int) -> None:
    with _lock:
        FIGURES["leak_scans"].append({"scope": scope, "texts_scanned": texts, "leaks": leaks})


def record_outcome(failure_mode: str, state: str, message: str) -> None:
    """What the user sees for one failure mode (first message kept, trimmed)."""
    with _lock:
        FIGURES["outcomes"].setdefault(failure_mode, {"state": state, "message": message[:300]})


def totals(figures: dict[str, Any]) -> dict[str, int]:
    faults = figures["faults"]
    return {
        "faults_tried": len(faults),
        "triggers_sent": sum(f["triggers"] for f in faults),
        "runs_counted": sum(f["runs"] for f in faults),
        "duplicates": sum(f["duplicates"] for f in faults),
        "lost": sum(f["lost"] for f in faults),
        "inputs_fuzzed": sum(figures["fuzz"].values()),
        "texts_scanned_for_secrets": sum(s["texts_scanned"] for s in figures["leak_scans"]),
        "leaks": sum(s["leaks"] for s in figures["leak_scans"]),
        "tenancy_requests": sum(c["requests"] for c in figures.get("tenancy", {}).values()),
        "tenancy_refused_as_engine": sum(
            c["refused_as_engine"] for c in figures.get("tenancy", {}).values()
        ),
    }


def write(mode: str, duration_s: float, exit_status: int) -> None:
    data = {
        "mode": mode,
        "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "duration_seconds": round(duration_s, 1),
        "pytest_exit_status": exit_status,
        "totals": totals(FIGURES),
        **FIGURES,
    }
    JSON_PATH.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    render()


def _md(figures: dict[str, Any]) -> str:
    t = figures["totals"]
    lines = [
        f"Last {figures['mode'].upper()} run: {figures['finished_at']}, "
        f"{figures['duration_seconds']:.0f} s, pytest exit status {figures['pytest_exit_status']}.",
        "",
        "| Figure | Value |",
        "|---|---|",
        *(f"| {name.replace('_', ' ')} | {value} |" for name, value in t.items()),
        "",
        "| Fault | Triggers | Runs counted | Duplicates | Lost | Prefect task states |",
        "|---|---|---|---|---|---|",
    ]
    for f in figures["faults"]:
        states = ", ".join(f"{k} {v}" for k, v in sorted(f["prefect_states"].items()))
        lines.append(f"| {f['fault']} | {f['triggers']} | {f['runs']} | {f['duplicates']} | "
                     f"{f['lost']} | {states} |")
    lines += ["", "| Fuzzed target | Inputs |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in sorted(figures["fuzz"].items())]
    lines += ["", "| Secret scan | Texts scanned | Leaks |", "|---|---|---|"]
    lines += [f"| {s['scope']} | {s['texts_scanned']} | {s['leaks']} |" for s in figures["leak_scans"]]
    lines += ["", "| Tenancy check | Requests | Refused as the engine refuses |", "|---|---|---|"]
    lines += [f"| {k} | {v['requests']} | {v['refused_as_engine']} |"
              for k, v in sorted(figures.get("tenancy", {}).items())]
    lines += ["", "Observed by the suite (state and message as Prefect stores them):", "",
              "| Failure mode | Prefect state | Message |", "|---|---|---|"]
    for mode, seen in sorted(figures["outcomes"].items()):
        message = seen["message"].replace("|", "\\|").replace("\n", " ")
        lines.append(f"| {mode} | {seen['state']} | {message} |")
    return "\n".join(lines)


def render() -> None:
    figures = json.loads(JSON_PATH.read_text())
    doc = DOC_PATH.read_text()
    if START not in doc or END not in doc:
        raise SystemExit(f"{DOC_PATH} lacks the {START} / {END} markers")
    head, rest = doc.split(START, 1)
    _, tail = rest.split(END, 1)
    DOC_PATH.write_text(f"{head}{START}\n{_md(figures)}\n{END}{tail}")


if __name__ == "__main__":
    render()
    sys.exit(0)
