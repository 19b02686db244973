"""An ended Imbrace run's steps as nodes of a run graph: names, times, states and texts.

Pure functions over the engine's run (no I/O): `prefect_imbrace.run_graph` writes the nodes to
Prefect as task runs. What the engine reports and what is derived here:

- **Order, loops and branches as the engine reports them.** `run.steps` lists the steps in
  the order they started; a loop's body runs appear in its output's `iterations` (one mapping
  per iteration), so they become nodes nested under the loop's node; a router's taken branch
  is simply the steps after it. Steps of branches not taken are not reported, so not shown.
- **Skipped steps** (`skip: true` in the flow version) are never reported by the engine; with
  the version at hand they become "Skipped" nodes where their chain was reached.
- **Times.** The engine reports a duration per step, not a start. A step's start is the run's
  `startTime` plus the durations of the steps before it (its loop's start plus the durations
  before it within the loop), so the engine's own work between steps is not shown, and a run
  that paused shows the pause after its last step. The texts say so and give the figures the
  engine reported.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from prefect_imbrace.client.models.runs import RunCategory
from prefect_imbrace.run_links import redact
from prefect_imbrace.step_errors import error_text

if TYPE_CHECKING:
    from prefect_imbrace.credentials import ImbraceCredentials

__all__ = [
    "OUTPUT_CHARS",
    "StepInfo",
    "StepNode",
    "layout_steps",
    "node_state",
    "node_text",
    "run_state",
]

OUTPUT_CHARS = 2000
"""A step's shown output is cut here: enough to read, small enough for a log line."""
ERROR_CHARS = 4000
SKIPPED = "SKIPPED"


@dataclass(frozen=True)
class StepInfo:
    """What the flow version says of a step: its display name and whether it is skipped."""

    display_name: str | None = None
    skip: bool = False


@dataclass
class StepNode:
    """One step as the graph shows it.

    `key` is unique within the run: the step name, or `<loop key>[<iteration>]/<name>` for a
    step inside a loop. `parent` is the key of the loop node it is nested in; `after` the key of
    the node it follows in its chain (drawn as a dependency).
    """

    key: str
    name: str
    label: str
    status: str
    start: datetime
    end: datetime
    duration_ms: float | None = None
    output: Any = None
    error: str | None = None
    parent: str | None = None
    after: str | None = None
    iterations: int | None = None
    children: list[str] = field(default_factory=list)


def _data(step: Any) -> dict[str, Any]:
    if hasattr(step, "model_dump"):
        data: dict[str, Any] = step.model_dump(by_alias=True)
        return data
    return dict(step) if isinstance(step, dict) else {}


def _label(name: str, info: StepInfo | None, iteration: int | None) -> str:
    shown = f"{name} · {info.display_name}" if info and info.display_name else name
    return f"{shown} #{iteration}" if iteration is not None else shown


class _Layout:
    def __init__(self, infos: dict[str, StepInfo] | None):
        self.infos = infos or {}
        self.nodes: list[StepNode] = []

    def chain(self, steps: dict[str, Any], cursor: datetime, parent: str | None,
              prefix: str, iteration: int | None) -> datetime:
        """Lay out one chain of reported steps from `cursor`; returns where it ended."""
        after: str | None = None
        for name, step in steps.items():
            data = _data(step)
            ms = data.get("duration")
            ms = float(ms) if isinstance(ms, (int, float)) else None
            end = cursor + timedelta(milliseconds=ms or 0)
            output = data.get("output")
            node = StepNode(
                key=f"{prefix}{name}", name=name, label=_label(name, self.infos.get(name), iteration),
                status=str(data.get("status") or "UNKNOWN").upper(), start=cursor, end=end,
                duration_ms=ms, output=output, error=error_text(data.get("errorMessage")), parent=parent, after=after,
            )
            self.nodes.append(node)
            iterations = output.get("iterations") if isinstance(output, dict) else None
            if isinstance(iterations, list):
                node.iterations = len(iterations)
                inner = cursor
                for index, body in enumerate(iterations, start=1):
                    if isinstance(body, dict):
                        inner = self.chain(body, inner, node.key, f"{node.key}[{index}]/", index)
                node.end = max(end, inner)
            after, cursor = node.key, node.end
        return cursor


def _skipped(version: Any, layout: _Layout) -> None:
    """Nodes for `skip: true` steps of the version that the run went past.

    Skipped steps show where the run went on after them (a later step of the same chain was
    reported) or where their chain ended after a step that succeeded; the top chain starts at
    the trigger. Each goes between the steps that ran before and after it (engine order), at
    the time the one before it ended. Inside loops the engine reports steps per iteration, and
    a router branch of skipped steps only has nothing that says it was taken: neither shows.
    """
    reported = {n.key: n for n in layout.nodes if n.parent is None}
    trigger = getattr(version, "trigger", None)
    if trigger is None or "trigger" not in reported:
        return

    def place(pending: list[Any], previous: StepNode) -> None:
        following = next((n for n in layout.nodes if n.parent is None and n.after == previous.key), None)
        index = _after_descendants(layout.nodes, previous)
        for step in pending:
            node = StepNode(key=step.name, name=step.name,
                            label=_label(step.name, layout.infos.get(step.name), None),
                            status=SKIPPED, start=previous.end, end=previous.end, after=previous.key)
            layout.nodes.insert(index, node)
            index, previous = index + 1, node
        if following is not None:
            following.after = previous.key

    def walk(step: Any) -> None:
        pending: list[Any] = []
        last: StepNode | None = None
        while step is not None:
            node = reported.get(step.name)
            if node is not None:
                if pending and node.after in reported:
                    place(pending, reported[node.after])
                pending, last = [], node
                if node.iterations is None:  # loop bodies are reported per iteration
                    for child in step.children():
                        walk(child)
            elif getattr(step, "skip", False):
                pending.append(step)
            else:  # the chain stopped before this step
                pending, last = [], None
                break
            step = step.next_action
        if pending and last is not None and last.status == "SUCCEEDED":
            place(pending, last)

    walk(trigger)


def _after_descendants(nodes: list[StepNode], node: StepNode) -> int:
    """The list index just after `node` and the loop iterations nested in it."""
    index = nodes.index(node) + 1
    while index < len(nodes) and nodes[index].key.startswith(f"{node.key}["):
        index += 1
    return index


def step_infos(version: Any) -> dict[str, StepInfo]:
    """Step name -> display name and skip flag, from a flow version (`FlowVersion`)."""
    if version is None or not hasattr(version, "steps"):
        return {}
    return {s.name: StepInfo(s.display_name, bool(getattr(s, "skip", False))) for s in version.steps()}


def layout_steps(run: Any, version: Any = None) -> list[StepNode]:
    """The run's steps as nodes, in the order they started (skipped ones where reached).

    `run` is an ended run read by id (with `steps`); `version` its flow version, for display
    names and skipped steps (None: names only). A run that never started has no nodes.
    """
    start = getattr(run, "start_time", None) or getattr(run, "created", None)
    steps = getattr(run, "steps", None) or {}
    if start is None or not steps:
        return []
    layout = _Layout(step_infos(version))
    layout.chain(dict(steps), start, None, "", None)
    if version is not None:
        _skipped(version, layout)
    by_key = {n.key: n for n in layout.nodes}
    for node in layout.nodes:
        if node.parent is not None and node.parent in by_key:
            by_key[node.parent].children.append(node.key)
    return layout.nodes


# -- states and texts ----------------------------------------------------------------------------
_STEP_STATES = {
    "SUCCEEDED": ("COMPLETED", "Completed"),
    "FAILED": ("FAILED", "Failed"),
    "PAUSED": ("PAUSED", "Paused"),
    "STOPPED": ("COMPLETED", "Stopped"),
    SKIPPED: ("COMPLETED", "Skipped"),
}
_RUN_STATES = {
    RunCategory.SUCCEEDED: ("COMPLETED", "Completed"),
    RunCategory.FAILED: ("FAILED", "Failed"),
    RunCategory.CANCELLED: ("CANCELLED", "Cancelled"),
    RunCategory.PAUSED: ("PAUSED", "Paused"),
}


def node_state(node: StepNode, run: Any) -> tuple[str, str, str]:
    """(Prefect state type, state name, message) of a step node.

    A step still RUNNING when its run ended was cut off (timeout, internal error): Crashed. A
    status this package does not know keeps its own name on a Completed state.
    """
    kind, name = _STEP_STATES.get(node.status, ("", ""))
    if not kind:
        if node.status == "RUNNING":
            kind, name = "CRASHED", "Crashed"
        else:
            kind, name = "COMPLETED", node.status.title()
    if node.status == SKIPPED:
        return kind, name, "Skipped: the step is marked skip in the Imbrace flow."
    if kind == "CRASHED":
        return kind, name, f"The Imbrace run ended {run.status} while this step was running."
    if node.error:
        return kind, name, node.error[:ERROR_CHARS]
    return kind, name, node.status + (f" in {_ms(node.duration_ms)}" if node.duration_ms is not None else "")


def run_state(run: Any) -> tuple[str, str]:
    """(Prefect state type, state name) of a run's own node: its outcome."""
    return _RUN_STATES.get(run.category, ("FAILED", str(run.status).title()))


def _ms(value: float) -> str:
    return f"{value:.0f} ms"


def _clock(moment: datetime) -> str:
    return moment.strftime("%H:%M:%S.%f")[:-3]


def shown_json(value: Any, credentials: ImbraceCredentials | None, limit: int = OUTPUT_CHARS) -> str:
    """`value` redacted, as indented JSON cut to `limit` characters (the cut is said)."""
    text = json.dumps(redact(value, credentials), indent=2, ensure_ascii=False, default=str)
    if len(text) <= limit:
        return text
    return f"{text[:limit]}\n... ({len(text) - limit} more characters; the whole output is in the run)"


def node_text(node: StepNode, credentials: ImbraceCredentials | None) -> str:
    """The log line of a step's task run: status, the engine's figures, output or error."""
    if node.status == SKIPPED:
        return f"{node.label}: skipped (marked skip in the Imbrace flow); it did not run."
    when = (f"{_clock(node.start)} to {_clock(node.end)} UTC, estimated from the run's start and "
            f"the durations before it")
    took = (f"after {_ms(node.duration_ms)} (the engine's duration; {when})"
            if node.duration_ms is not None else f"(the engine reports no duration; {when})")
    head = f"{node.label}: {node.status} {took}."
    if node.error:
        head += "\nError: " + str(redact(node.error, credentials))[:ERROR_CHARS]
    output = node.output
    if node.iterations is not None and isinstance(output, dict):
        output = {**output, "iterations": f"{node.iterations} iterations, shown as nested task runs"}
    if output is not None:
        head += "\nOutput:\n" + shown_json(output, credentials)
    return head
