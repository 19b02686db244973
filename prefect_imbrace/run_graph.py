"""Each step of an ended Imbrace run as a task run in the Prefect flow run's graph.

When a wait ends, `areflect_ended_run` writes the run's steps (`prefect_imbrace.step_layout`)
as task runs of the waiting Prefect flow run, nested under the waiting task run: named after
the step (`step_2 · Send email`), in the step's state, with the step's times, and a log line
holding its output (redacted, cut) or its error. prefect-dbt's `PrefectDbtRunner` does the same
for dbt nodes while they run; here the steps are known only once the Imbrace run ended.

How they are written: the way Prefect's own task engine reports a task run, as one
`prefect.task-run.<State>` event per step (the server's task-run recorder turns it into the task
run, with the start and end times the event carries; `__parents__` in `task_inputs` nests it, as
Prefect does for a task called inside a task) and one log per step through Prefect's batched log
worker. So a step costs 1 event and 1 log, no request of its own into Prefect's HTTP client pool;
docs/concepts/steps-in-prefect.md gives the counts.

Which runs show their steps (`ShowSteps`): `"all"`, `"failed"` (runs that did not succeed),
`"none"`, or `"auto"`: every run until the Prefect flow run holds
`PREFECT_INTEGRATIONS_IMBRACE_AUTO_STEPS_PER_FLOW_RUN` step task runs of successful runs (200 by
default; `StepsBudget`), then the failed ones only, so a flow that gathers hundreds of single
waits keeps a readable graph and the cost of a few hundred writes, not thousands. Chosen per call (`show_steps=`), per block
(`ImbraceCredentials.show_steps` / `show_fan_out_steps`) or by the settings
`PREFECT_INTEGRATIONS_IMBRACE_SHOW_STEPS` (default `auto`) and `..._SHOW_FAN_OUT_STEPS` (default
`failed`, so a fan-out of successful runs writes nothing more). Nothing here ever fails a wait:
an error while reflecting is logged.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import uuid
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Literal

from prefect.logging.loggers import get_logger

from prefect_imbrace.client.models.runs import RunCategory
from prefect_imbrace.exceptions import ImbraceConfigurationError
from prefect_imbrace.run_links import redact
from prefect_imbrace.step_layout import StepNode, layout_steps, node_state, node_text, run_state

if TYPE_CHECKING:
    from prefect_imbrace.credentials import ImbraceCredentials

__all__ = [
    "MAX_STEP_TASK_RUNS",
    "SHOW_STEPS_VALUES",
    "StepsBudget",
    "GraphParent",
    "ShowSteps",
    "areflect_ended_run",
    "check_show_steps",
    "current_parent",
    "resolve_show_steps",
    "run_message",
    "send_log",
    "steps_view",
    "write_run",
]

ShowSteps = Literal["auto", "all", "failed", "none"]
SHOW_STEPS_VALUES: tuple[ShowSteps, ...] = ("auto", "all", "failed", "none")
MAX_STEP_TASK_RUNS = 100
"""Task runs per Imbrace run at most (a loop over many items); failed and paused steps are
always kept, the others in order until the limit; the run's log says how many were left out."""
VERSION_TIMEOUT_S = 10.0
LOGGER_NAME = "prefect_imbrace.steps"
_NAMESPACE = uuid.UUID("1b0c7c2e-5a3f-4f7e-9d8e-2c6a4b1f0e93")
_log = get_logger("prefect_imbrace.run_graph")
_ROUTINE_STATUSES = frozenset({"SUCCEEDED", "SKIPPED", "STOPPED"})


# -- which runs show their steps -------------------------------------------------------------------
@dataclass(frozen=True)
class _View:
    show: ShowSteps | None = None
    grouped: bool = True
    fan_out: bool = False


_view: ContextVar[_View | None] = ContextVar("prefect_imbrace_steps_view", default=None)


def check_show_steps(value: str | None, name: str = "show_steps") -> ShowSteps | None:
    """`value` if it is one of `SHOW_STEPS_VALUES` (or None); a clear error otherwise."""
    if value is None or value in SHOW_STEPS_VALUES:
        return value
    raise ImbraceConfigurationError(
        f"{name} must be one of {', '.join(map(repr, SHOW_STEPS_VALUES))} (or None for the "
        f"block's or the settings' choice), got {value!r}."
    )


@contextmanager
def steps_view(show: str | None = None, *, grouped: bool = True, fan_out: bool = False) -> Iterator[None]:
    """The waits inside this block show steps per `show` (None: the block's or the settings').

    `grouped=False` (one wait per task run, as in `trigger_flow_and_wait`) nests the steps
    straight under the waiting task run; otherwise each Imbrace run gets a task run of its own
    with its steps inside, so the runs of a fan-out do not mix. `fan_out` picks the fan-out
    default (`show_fan_out_steps`).
    """
    token = _view.set(_View(check_show_steps(show), grouped, fan_out))
    try:
        yield
    finally:
        _view.reset(token)


def resolve_show_steps(credentials: Any, show: str | None = None, *, fan_out: bool = False) -> ShowSteps:
    """The choice for a wait: `show`, else the block's field, else the setting."""
    from prefect_imbrace.exactly_once.clients import cached_setting

    name = "show_fan_out_steps" if fan_out else "show_steps"
    value = show or getattr(credentials, name, None) or cached_setting(name)
    return check_show_steps(value or ("failed" if fan_out else "auto"), name) or "auto"


def _wanted(show: ShowSteps, run: Any) -> bool:
    if show in ("all", "auto"):
        return True
    return show == "failed" and run.category is not RunCategory.SUCCEEDED


class StepsBudget:
    """How many step task runs of successful Imbrace runs each Prefect flow run holds (`"auto"`).

    A successful run is shown whole if its flow run holds fewer than the limit when it ends (so
    the limit may be passed by one run's steps); failed runs are always shown and not counted.
    Kept in process memory: a Prefect flow run's waits run in its one process.
    """

    _FLOW_RUNS_KEPT = 1024

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._written: dict[uuid.UUID, int] = {}
        self._told: set[uuid.UUID] = set()

    def take(self, flow_run_id: uuid.UUID, count: int, limit: int) -> bool:
        """Count `count` task runs against the flow run if it holds fewer than `limit`."""
        with self._lock:
            before = self._written.get(flow_run_id, 0)
            if before >= limit:
                return False
            if flow_run_id not in self._written and len(self._written) >= self._FLOW_RUNS_KEPT:
                oldest = next(iter(self._written))
                del self._written[oldest]
                self._told.discard(oldest)
            self._written[flow_run_id] = before + count
            return True

    def full(self, flow_run_id: uuid.UUID, limit: int) -> bool:
        with self._lock:
            return self._written.get(flow_run_id, 0) >= limit

    def first_left_out(self, flow_run_id: uuid.UUID) -> bool:
        """True once per flow run: its first successful run left out, which logs why."""
        with self._lock:
            if flow_run_id in self._told:
                return False
            self._told.add(flow_run_id)
            return True


_budget = StepsBudget()


# -- where the task runs go ------------------------------------------------------------------------
@dataclass(frozen=True)
class GraphParent:
    """The Prefect flow run the steps join, and the task run they nest under (if any)."""

    flow_run_id: uuid.UUID
    task_run_id: uuid.UUID | None = None


def current_parent() -> GraphParent | None:
    """The running task run (or flow run) of the caller; None outside a Prefect run."""
    from prefect.context import FlowRunContext, TaskRunContext

    task_ctx = TaskRunContext.get()
    if task_ctx is not None and task_ctx.task_run.flow_run_id is not None:
        return GraphParent(task_ctx.task_run.flow_run_id, task_ctx.task_run.id)
    flow_ctx = FlowRunContext.get()
    if flow_ctx is not None and flow_ctx.flow_run is not None:
        return GraphParent(flow_ctx.flow_run.id)
    return None


# -- the flow version: display names and skipped steps -----------------------------------------------
_versions: dict[str, Any] = {}
_VERSIONS_KEPT = 256
_version_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, asyncio.Lock]] = (
    weakref.WeakKeyDictionary()
)


async def aflow_version(credentials: ImbraceCredentials, run: Any) -> Any:
    """The run's flow version (one engine GET per version and process), or None on any error.

    Concurrent asks for the same version on one loop share one request (a fan-out's failures).
    """
    from prefect_imbrace.exactly_once.clients import (
        client_kwargs_of,
        creds_digest,
        shared_async_client,
    )

    flow_id = getattr(run, "flow_id", None)
    if not flow_id:
        return None
    kwargs = client_kwargs_of(credentials)
    key = f"{creds_digest(kwargs)}:{flow_id}:{getattr(run, 'flow_version_id', None)}"
    if key in _versions:
        return _versions[key]
    locks = _version_locks.setdefault(asyncio.get_running_loop(), {})
    async with locks.setdefault(key, asyncio.Lock()):
        if key in _versions:
            return _versions[key]
        try:
            async with shared_async_client(kwargs) as shared:
                flow = await asyncio.wait_for(
                    shared.client.workflows.get_flow(flow_id=flow_id, version_id=run.flow_version_id),
                    VERSION_TIMEOUT_S)
        except Exception as exc:  # names only, then: the steps still show
            _log.debug("Could not read flow version of Imbrace run %s: %s", run.id, exc)
            return None
        if len(_versions) >= _VERSIONS_KEPT:
            _versions.clear()
        _versions[key] = flow.version
        return flow.version


# -- the entry point -------------------------------------------------------------------------------
async def areflect_ended_run(run: Any, credentials: ImbraceCredentials) -> int:
    """Show an ended run's steps as task runs under the caller's task run; how many were written.

    Called once at the end of a wait (`observability.arecord_run_end`). Reads the choice of
    `steps_view` / block / settings; does nothing outside a Prefect run. Never raises.
    """
    try:
        view = _view.get() or _View()
        show = resolve_show_steps(credentials, view.show, fan_out=view.fan_out)
        if not _wanted(show, run):
            return 0
        parent = current_parent()
        if parent is None or not getattr(run, "steps", None):
            return 0
        limit = _auto_limit() if show == "auto" and run.category is RunCategory.SUCCEEDED else None
        if limit is not None and _budget.full(parent.flow_run_id, limit):
            _left_out(parent, run, limit)
            return 0
        version = await aflow_version(credentials, run)
        grouped = view.grouped or parent.task_run_id is None
        return write_run(run, version, parent, credentials, grouped=grouped,
                         link=_link(credentials, run) if grouped else None, limit=limit)
    except Exception as exc:  # a view of the run; never the wait's outcome
        _log.warning("Could not show the steps of Imbrace run %s in Prefect: %s",
                     getattr(run, "id", "?"), exc)
        return 0


def _auto_limit() -> int:
    from prefect_imbrace.exactly_once.clients import cached_setting

    return int(cached_setting("auto_steps_per_flow_run"))


def _left_out(parent: GraphParent, run: Any, limit: int) -> None:
    """Once per Prefect flow run, on the waiting task run: why later runs show no steps."""
    if _budget.first_left_out(parent.flow_run_id):
        send_log(parent.flow_run_id, parent.task_run_id, logging.INFO,
                 f"Imbrace run {run.id} succeeded; its steps and those of later successful runs "
                 f"of this flow run are not shown as task runs: the flow run holds {limit} step "
                 f"task runs already (show_steps='auto'; failed runs still show theirs). "
                 f"Pass show_steps='all' or set PREFECT_INTEGRATIONS_IMBRACE_AUTO_STEPS_PER_FLOW_RUN "
                 f"to see more.", datetime.now(timezone.utc))


def _link(credentials: ImbraceCredentials, run: Any) -> str | None:
    """The run's link for its own task run's log, without waiting on the network."""
    from prefect_imbrace.run_links import known_page_link, ui_link

    return (ui_link(credentials, run.id, run.flow_id, run.project_id)
            or known_page_link(credentials, "runs", run.id))


def _task_run_id(parent: GraphParent, run_id: str, key: str) -> uuid.UUID:
    return uuid.uuid5(_NAMESPACE, f"{parent.flow_run_id}|{parent.task_run_id}|{run_id}|{key}")


def _capped(nodes: list[StepNode]) -> tuple[list[StepNode], int]:
    """At most `MAX_STEP_TASK_RUNS` nodes: every failed/paused one and the loops holding it,
    then the others in order."""
    if len(nodes) <= MAX_STEP_TASK_RUNS:
        return nodes, 0
    by_key = {n.key: n for n in nodes}
    keep: set[str] = set()
    for node in nodes:
        if node.status not in _ROUTINE_STATUSES:
            current: StepNode | None = node
            while current is not None and current.key not in keep:
                keep.add(current.key)
                current = by_key.get(current.parent) if current.parent else None
    for node in nodes:
        if len(keep) >= MAX_STEP_TASK_RUNS:
            break
        if node.parent is None or node.parent in keep:
            keep.add(node.key)
    kept = [n for n in nodes if n.key in keep]
    return kept, len(nodes) - len(kept)


def write_run(
    run: Any, version: Any, parent: GraphParent, credentials: ImbraceCredentials | None, *,
    grouped: bool, link: str | None = None, limit: int | None = None,
) -> int:
    """Write the run's steps (and, `grouped`, a task run for the run itself) under `parent`.

    Returns the number of task runs written: one event and one log each. With a `limit`
    (`"auto"`), nothing is written once the flow run holds that many (`StepsBudget`).
    """
    from prefect_imbrace.exactly_once.outcome import redact_run

    run = redact_run(run)
    nodes, left_out = _capped(layout_steps(run, version))
    if not nodes:
        return 0
    if limit is not None and not _budget.take(parent.flow_run_id, len(nodes) + grouped, limit):
        _left_out(parent, run, limit)
        return 0
    ids = {n.key: _task_run_id(parent, run.id, n.key) for n in nodes}
    top = parent.task_run_id
    written = 0
    if grouped:
        top = _task_run_id(parent, run.id, "")
        kind, name = run_state(run)
        start = getattr(run, "start_time", None) or nodes[0].start
        end = getattr(run, "finish_time", None) or max(n.end for n in nodes)
        flow_name = getattr(getattr(run, "flow_version", None), "display_name", None)
        label = f"Imbrace run {run.id}" + (f" · {flow_name}" if flow_name else "")
        _emit_task_run(top, label, parent, run, kind, name, run_message(run, credentials),
                       start, end, inputs=_inputs(parent.task_run_id, None), executed=True,
                       key="")
        send_log(parent.flow_run_id, top, _level(kind),
                  _run_text(run, label, start, end, len(nodes), left_out, link), end)
        written += 1
    elif left_out:
        send_log(parent.flow_run_id, top, logging.INFO,
                  f"Imbrace run {run.id}: {left_out} more steps not shown as task runs "
                  f"(at most {MAX_STEP_TASK_RUNS} per run).", nodes[-1].end)
    for node in nodes:
        kind, name, message = node_state(node, run)
        task_run_id = ids[node.key]
        enclosing = ids.get(node.parent) if node.parent else top
        _emit_task_run(task_run_id, node.label, parent, run, kind, name,
                       str(redact(message, credentials)), node.start, node.end,
                       inputs=_inputs(enclosing, ids.get(node.after) if node.after else None),
                       executed=node.status != "SKIPPED", key=node.key)
        send_log(parent.flow_run_id, task_run_id, _level(kind), node_text(node, credentials), node.end)
        written += 1
    _log.debug("Imbrace run %s: %s task runs written to flow run %s.", run.id, written, parent.flow_run_id)
    return written


def _inputs(enclosing: uuid.UUID | None, after: uuid.UUID | None) -> dict[str, Any]:
    inputs: dict[str, Any] = {}
    if enclosing is not None:
        inputs["__parents__"] = [{"input_type": "task_run", "id": str(enclosing)}]
    if after is not None:
        inputs["wait_for"] = [{"input_type": "task_run", "id": str(after)}]
    return inputs


def _level(state_type: str) -> int:
    return {"FAILED": logging.ERROR, "CRASHED": logging.ERROR, "PAUSED": logging.WARNING,
            "CANCELLED": logging.WARNING}.get(state_type, logging.INFO)


def run_message(run: Any, credentials: ImbraceCredentials | None) -> str:
    if run.category is RunCategory.SUCCEEDED:
        return str(run.status)
    step, error = run.failed_step_name, run.error_message
    where = f" at step {step}" if step else ""
    why = f": {redact(error, credentials)}" if error else ""
    return f"{run.status}{where}{why}"[:4000]


def _run_text(run: Any, label: str, start: datetime, end: datetime, shown: int, left_out: int,
              link: str | None) -> str:
    seconds = (end - start).total_seconds()
    text = (f"{label}: {run.status}, ran {start.isoformat()} to {end.isoformat()} "
            f"({seconds:.3f} s, the engine's startTime and finishTime); {shown} steps shown "
            f"as task runs")
    text += f", {left_out} more not shown." if left_out else "."
    return text + (f"\nOpen the run: {link}" if link else "")


# -- writing: one event per task run, one log per task run -------------------------------------------
def _emit_task_run(
    task_run_id: uuid.UUID, label: str, parent: GraphParent, run: Any, state_type: str,
    state_name: str, message: str, start: datetime, end: datetime, *, inputs: dict[str, Any],
    executed: bool, key: str,
) -> None:
    """One `prefect.task-run.<State>` event, shaped like the ones Prefect's task engine emits.

    Prefect keys a task run of a flow run by (task_key, dynamic_key) too: the task key names
    the waiting task run (or the flow run), the dynamic key the Imbrace run and the step
    (`<run id>/step_2`, shown on the task run's page), so two waits never share a row.
    """
    from prefect.events import emit_event

    task_key = f"imbrace-steps-{parent.task_run_id or parent.flow_run_id}"
    dynamic_key = f"{run.id}/{key}" if key else str(run.id)

    task_run = {
        "name": label[:200],
        "task_key": task_key,
        "dynamic_key": dynamic_key,
        "run_count": 1 if executed else 0,
        "flow_run_run_count": 1,
        "expected_start_time": start.isoformat(),
        "start_time": start.isoformat() if executed else None,
        "end_time": end.isoformat(),
        "total_run_time": (end - start).total_seconds() if executed else 0.0,
        "task_inputs": inputs,
        "tags": ["imbrace"],
        "empirical_policy": {},
    }
    emit_event(
        event=f"prefect.task-run.{state_name}",
        id=uuid.uuid5(_NAMESPACE, f"{task_run_id}|{state_name}"),
        occurred=end,
        resource={
            "prefect.resource.id": f"prefect.task-run.{task_run_id}",
            "prefect.resource.name": label[:200],
            "prefect.run-count": str(task_run["run_count"]),
            "prefect.state-message": message,
            "prefect.state-name": state_name,
            "prefect.state-timestamp": end.isoformat(),
            "prefect.state-type": state_type,
            "prefect.orchestration": "client",
        },
        related=[
            {"prefect.resource.id": f"prefect.flow-run.{parent.flow_run_id}",
             "prefect.resource.role": "flow-run"},
            {"prefect.resource.id": f"imbrace.flow-run.{run.id}",
             "prefect.resource.role": "imbrace-run"},
        ],
        payload={
            "intended": {"from": None, "to": state_type},
            "initial_state": None,
            "validated_state": {"type": state_type, "name": state_name, "message": message,
                                "state_details": {}, "data": None},
            "task_run": {k: v for k, v in task_run.items() if v is not None},
        },
    )


def send_log(flow_run_id: uuid.UUID, task_run_id: uuid.UUID | None, level: int, message: str,
              timestamp: datetime) -> None:
    """One log of a step's task run, through Prefect's batched log worker (if logs go to the API)."""
    from prefect.client.schemas.actions import LogCreate
    from prefect.logging.handlers import APILogWorker
    from prefect.settings import PREFECT_LOGGING_TO_API_ENABLED

    if not PREFECT_LOGGING_TO_API_ENABLED.value():
        return
    log = LogCreate(name=LOGGER_NAME, level=level, message=message,
                    timestamp=timestamp.astimezone(timezone.utc), flow_run_id=flow_run_id,
                    task_run_id=task_run_id)
    APILogWorker.instance().send(log.model_dump(mode="json"))
