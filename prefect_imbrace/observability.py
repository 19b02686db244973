"""What an Imbrace run looks like in the Prefect UI: links, summaries, progress and events.

Events are named `imbrace.flow-run.<status lower-case>`, one per (run, status) seen: QUEUED,
RUNNING, PAUSED and the terminal statuses. The resource is the Imbrace run
(`imbrace.flow-run.<id>`, named after its Imbrace flow); the Imbrace flow and project are
related resources with names; inside a Prefect run Prefect itself attaches the flow run / task
run as related, so automations can chain deployments on them. An event's id is derived from
(run id, status), so the waiter and the observer flow can both report the same transition and
Prefect keeps one copy; within a process each (run, status) is emitted once.

Artifacts carry stable keys (`artifact_key`), so the global Artifacts page lists them and shows
their history from one Prefect run to the next. Links follow `prefect_imbrace.run_links`.

Nothing here logs credentials; shown results and payloads go through `run_links.redact`.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import threading
import uuid
import weakref
from collections import OrderedDict
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from prefect.logging.loggers import get_logger

from prefect_imbrace.prefect_api import prefect_slots
from prefect_imbrace.run_links import known_page_link, page_link, shown, ui_link

if TYPE_CHECKING:
    from prefect_imbrace.credentials import ImbraceCredentials
    from prefect_imbrace.exactly_once.outcome import ImbraceRunResult

__all__ = [
    "EVENT_PREFIX",
    "FanOutProgress",
    "acreate_progress",
    "artifact_key",
    "arecord_batch_table",
    "arecord_run_end",
    "arecord_run_link",
    "arecord_run_summary",
    "aupdate_progress",
    "batch_row",
    "emit_run_event",
    "event_name",
    "run_resource",
    "run_url",
    "summary_markdown",
]

EVENT_PREFIX = "imbrace.flow-run"
_EVENT_NAMESPACE = uuid.UUID("6f1c5a8e-3f0b-4d4c-9a53-6f2f0b1d7e21")
_log = get_logger("prefect_imbrace.observability")
_EMITTED_KEPT = 20_000
_emitted: OrderedDict[tuple[str, str], None] = OrderedDict()
_emitted_lock = threading.Lock()
_deployment_names: dict[str, str] = {}
RESULT_CHARS = 1500
CELL_CHARS = 120


def _in_run_context() -> bool:
    from prefect.context import FlowRunContext, TaskRunContext

    return FlowRunContext.get() is not None or TaskRunContext.get() is not None


def _events_enabled() -> bool:
    """Inside a Prefect run, or with an API configured; never start a temporary server for it."""
    from prefect.settings import PREFECT_API_URL

    return _in_run_context() or bool(PREFECT_API_URL.value())


# -- links ----------------------------------------------------------------------------------------
def run_url(credentials: ImbraceCredentials | None, run: Any) -> str | None:
    """Link to a run a browser can open, or None (then artifacts show the run id only).

    `ui_url` (block field or `PREFECT_INTEGRATIONS_IMBRACE_UI_URL`) wins: formatted with
    `{run_id}`, `{flow_id}` and `{project_id}` if it has placeholders, else
    `{ui_url}/projects/{project_id}/runs/{run_id}`. Against Imbrace Local: its read-only run
    page with a token for that run. Otherwise None: the engine API URL needs an API key, so a
    link to it only ever answered 401.
    """
    if credentials is None:
        return None
    flow_id = getattr(run, "flow_id", None)
    project_id = getattr(run, "project_id", None)
    return ui_link(credentials, run.id, flow_id, project_id) or page_link(credentials, "runs", run.id)


async def _arun_url(credentials: ImbraceCredentials | None, run: Any) -> str | None:
    """`run_url` off the event loop (its first call per gateway may ask who answers there)."""
    if credentials is None:
        return None
    return await asyncio.to_thread(run_url, credentials, run)


def _flow_name(run: Any) -> str | None:
    return getattr(getattr(run, "flow_version", None), "display_name", None)


# -- artifact keys --------------------------------------------------------------------------------
def _slug(text: str, limit: int = 40) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:limit].strip("-")


async def _prefect_part() -> str:
    """The deployment's name when the Prefect run has one, else the Prefect flow's name."""
    from prefect.context import FlowRunContext, TaskRunContext

    flow_ctx = FlowRunContext.get()
    flow_run = getattr(flow_ctx, "flow_run", None)
    deployment_id = getattr(flow_run, "deployment_id", None)
    if deployment_id is not None:
        name = _deployment_names.get(str(deployment_id))
        if name is None:
            try:
                from prefect.client.orchestration import get_client

                async with get_client() as client:
                    name = (await client.read_deployment(deployment_id)).name
            except Exception:  # noqa: BLE001 - the flow's name is a fine key too
                name = ""
            _deployment_names[str(deployment_id)] = name
        if name:
            return name
    flow = getattr(flow_ctx, "flow", None)
    if flow is not None:
        return str(flow.name)
    task_ctx = TaskRunContext.get()
    task = getattr(task_ctx, "task", None)
    return getattr(task, "name", None) or "prefect"


def artifact_key(kind: str, prefect_name: str, imbrace_flow_id: str) -> str:
    """`imbrace-<kind>-<Prefect flow or deployment>-<Imbrace flow id>`, lower-case with dashes.

    `kind` is `run` (a waited run's link and summary) or `batch` (a fan-out's table). The same
    Prefect flow waiting on the same Imbrace flow writes under the same key every time, so the
    Artifacts page shows one entry per pair with its history. The Imbrace flow is named by id
    (lower-cased: Prefect keys allow no capitals), which survives renaming the flow.
    """
    return "-".join(p for p in ("imbrace", kind, _slug(prefect_name), _slug(imbrace_flow_id, 32)) if p)


async def _key(kind: str, flow_id: str | None) -> str | None:
    if not flow_id:
        return None
    return artifact_key(kind, await _prefect_part(), flow_id)


# -- events ---------------------------------------------------------------------------------------
def event_name(status: str) -> str:
    return f"{EVENT_PREFIX}.{status.lower()}"


def run_resource(run: Any) -> dict[str, str]:
    name = _flow_name(run)
    return {
        "prefect.resource.id": f"{EVENT_PREFIX}.{run.id}",
        "prefect.resource.name": f"{name or 'Imbrace run'} · run {run.id}",
        "imbrace.flow-run.status": str(run.status),
    }


def _related(run: Any, flow_id: str | None) -> list[dict[str, str]]:
    related = []
    fid = flow_id or getattr(run, "flow_id", None)
    if fid:
        related.append({
            "prefect.resource.id": f"imbrace.flow.{fid}",
            "prefect.resource.role": "imbrace-flow",
            "prefect.resource.name": _flow_name(run) or f"Imbrace flow {fid}",
        })
    project = getattr(run, "project_id", None)
    if project:
        related.append({
            "prefect.resource.id": f"imbrace.project.{project}",
            "prefect.resource.role": "imbrace-project",
            "prefect.resource.name": f"Imbrace project {project}",
        })
    return related


def _duration(run: Any) -> float | None:
    duration = getattr(run, "duration", None)
    return round(duration.total_seconds(), 3) if duration is not None else None


def _first_emit(run_id: str, status: str) -> bool:
    with _emitted_lock:
        key = (run_id, status)
        if key in _emitted:
            return False
        _emitted[key] = None
        while len(_emitted) > _EMITTED_KEPT:
            _emitted.popitem(last=False)
        return True


def emit_run_event(
    run: Any, *, flow_id: str | None = None, credentials: ImbraceCredentials | None = None,
    link: str | None = None, client_kwargs: dict[str, Any] | None = None,
) -> Any:
    """Emit `imbrace.flow-run.<status>` once per (run, status) in this process.

    The waiter calls it on every status change it observes. The payload carries the run id,
    the Imbrace flow (id and name), status, duration, failed step and its readable error
    (redacted) and, when known, the link to the run (`link`, else one built from `credentials` when that needs no network call).
    `client_kwargs`: the credentials' client kwargs, when the caller holds them already.
    """
    from prefect.events import emit_event

    status = getattr(run, "status", None)
    if not status or not _events_enabled() or not _first_emit(run.id, str(status)):
        return None
    if link is None and credentials is not None:
        link = ui_link(credentials, run.id, flow_id or getattr(run, "flow_id", None),
                       getattr(run, "project_id", None))
        if link is None:
            link = known_page_link(credentials, "runs", run.id, client_kwargs)
    payload = {
        "run_id": run.id,
        "flow_id": flow_id or getattr(run, "flow_id", None),
        "flow_name": _flow_name(run),
        "project_id": getattr(run, "project_id", None),
        "status": status,
        "duration_seconds": _duration(run),
        "failed_step": getattr(run, "failed_step_name", None),
        "error_message": shown(getattr(run, "error_message", None), credentials, 300) or None,
        "run_url": link,
    }
    return emit_event(
        event=event_name(str(status)),
        resource=run_resource(run),
        related=_related(run, flow_id),
        payload={k: v for k, v in payload.items() if v is not None},
        id=uuid.uuid5(_EVENT_NAMESPACE, f"{run.id}:{status}"),
    )


# -- per-run artifacts ----------------------------------------------------------------------------
async def arecord_run_link(credentials: ImbraceCredentials, run: Any) -> None:
    """The run's link as soon as it is found (or its id, when no link can be opened)."""
    if not _in_run_context():
        return
    from prefect.artifacts import acreate_link_artifact, acreate_markdown_artifact

    name = _flow_name(run) or f"Imbrace flow {run.flow_id}"
    try:
        link = await _arun_url(credentials, run)
        key = await _key("run", run.flow_id)
        async with prefect_slots():
            if link:
                await acreate_link_artifact(
                    key=key, link=link, link_text=f"Imbrace run {run.id}",
                    description=f"Imbrace run {run.id} of {name}: {run.status} when found.",
                )
            else:
                await acreate_markdown_artifact(
                    key=key,
                    markdown=f"Imbrace run `{run.id}` of {name} is {run.status}.",
                    description=f"Imbrace run {run.id} of {name} (set `ui_url` for a link).",
                )
    except Exception as exc:  # artifacts are a convenience; never fail the wait for one
        _log.warning("Could not create the link artifact for Imbrace run %s: %s", run.id, exc)


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    return text.replace("|", "\\|").replace("\n", " ")[:300]


def summary_markdown(
    result: ImbraceRunResult, link: str | None = None, *, flow_name: str | None = None,
    credentials: ImbraceCredentials | None = None,
) -> str:
    """Status, duration, the result and a row per step; `link` opens the run.

    The result (the reply body, else the last step's output) is redacted and cut to
    `RESULT_CHARS` characters, so a large output keeps the artifact readable.
    """
    duration = f"{result.duration_seconds:.2f}s" if result.duration_seconds is not None else "-"
    flow = f"{flow_name} (`{result.flow_id}`)" if flow_name else f"`{result.flow_id}`"
    lines = [
        f"### Imbrace run `{result.run_id}`",
        "",
        *([f"[Open the run]({link})", ""] if link else []),
        f"- **Flow:** {flow}",
        f"- **Status:** {result.status}",
        f"- **Duration:** {duration}",
    ]
    if (result.status or "").upper() == "SUCCEEDED":
        text = shown(result.payload, credentials, RESULT_CHARS)
        lines += ["", "**Result**", "", "```json", text.replace("```", "'''") or "null", "```"]
    lines += ["", "| Step | Status | Duration | Error |", "|---|---|---|---|"]
    for step in result.steps.values():
        ms = f"{step.duration_ms:.0f} ms" if step.duration_ms is not None else "-"
        error = shown(step.error, credentials, 300) if step.error else ""
        lines.append(f"| {_cell(step.name)} | {_cell(step.status)} | {ms} | {_cell(error)} |")
    return "\n".join(lines)


async def arecord_run_summary(
    run: Any, result: ImbraceRunResult, credentials: ImbraceCredentials | None = None,
    *, link_credentials: ImbraceCredentials | None = None,
) -> None:
    """A markdown artifact summarising a finished run; with `credentials` it links to the run.

    The waiter passes credentials when it found the run only once it had ended (no link
    artifact was written while it ran), so one artifact per run carries both.
    `link_credentials` redacts without adding a link. Runs of one key that end while a summary
    of that key is being written share the next write (`_SummaryWriter`).
    """
    if not _in_run_context():
        return
    try:
        link = await _arun_url(credentials, run)
        key = await _key("run", result.flow_id)
        summary = _Summary(result, link, _flow_name(run), credentials or link_credentials)
        await _summary_writer(key).write(summary)
    except Exception as exc:
        _log.warning("Could not create the summary artifact for run %s: %s", result.run_id, exc)


class _Summary:
    def __init__(self, result: ImbraceRunResult, link: str | None, flow_name: str | None,
                 credentials: ImbraceCredentials | None):
        self.result, self.link, self.flow_name, self.credentials = result, link, flow_name, credentials


def summaries_markdown(summaries: Sequence[Any]) -> str:
    """Runs that ended together, one row each: run (linked), status, duration, step, result."""
    first = summaries[0]
    flow = first.result.flow_id
    named = f"{first.flow_name} (`{flow}`)" if first.flow_name else f"`{flow}`"
    ok = sum((s.result.status or "").upper() == "SUCCEEDED" for s in summaries)
    lines = [f"### {len(summaries)} Imbrace runs of {named}", "",
             f"{ok} succeeded. They ended while another summary of this flow was being written,",
             "so they share one artifact.", "",
             "| Imbrace run | Status | Duration | Failed step / error | Result |", "|---|---|---|---|---|"]
    for s in summaries:
        r = s.result
        run = f"[`{r.run_id}`]({s.link})" if s.link else f"`{r.run_id}`"
        duration = f"{r.duration_seconds:.2f}s" if r.duration_seconds is not None else "-"
        failed = next((st for st in r.steps.values() if st.error), None)
        note = f"{failed.name}: {shown(failed.error, s.credentials, CELL_CHARS)}" if failed else ""
        shown_result = shown(r.payload, s.credentials, CELL_CHARS) if (r.status or "").upper() == "SUCCEEDED" else ""
        lines.append(f"| {run} | {_cell(r.status)} | {duration} | {_cell(note)} | {_cell(shown_result)} |")
    return "\n".join(lines)


class _SummaryWriter:
    """The summaries of one artifact key on one event loop: one write in flight at a time.

    Why: every waited-for run gets a summary, and a fan-out of tasks ends hundreds of runs at
    once; each artifact is a write the Prefect server serialises (about as costly as a Variable
    create). A summary that arrives while another of its key is being written waits for it,
    then goes out with every other one that arrived meanwhile as one artifact (a row per run):
    a lone run still gets its own summary at once, 500 runs ending together get a handful.
    """

    def __init__(self, key: str | None):
        self.key = key
        self._queue: list[tuple[_Summary, asyncio.Future[None]]] = []
        self._writing = False
        self._drainer: asyncio.Future[None] | None = None

    async def write(self, summary: _Summary) -> None:
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.append((summary, done))
        if not self._writing:
            self._writing = True
            self._drainer = asyncio.ensure_future(self._drain())  # held: the loop holds tasks weakly
        await asyncio.shield(done)

    async def _drain(self) -> None:
        from prefect.artifacts import acreate_markdown_artifact

        try:
            while self._queue:
                batch, self._queue = self._queue, []
                items = [summary for summary, _ in batch]
                first = items[0]
                try:
                    if len(items) == 1:
                        markdown = summary_markdown(first.result, first.link, flow_name=first.flow_name,
                                                    credentials=first.credentials)
                        description = f"Imbrace run {first.result.run_id}: {first.result.status}."
                    else:
                        markdown = summaries_markdown(items)
                        description = f"{len(items)} Imbrace runs of flow {first.result.flow_id}."
                    async with prefect_slots():
                        await acreate_markdown_artifact(key=self.key, markdown=markdown,
                                                        description=description)
                except Exception as exc:  # a convenience: never fail the waits for it
                    _log.warning("Could not create the summary artifact of %s Imbrace run(s): %s",
                                 len(items), exc)
                for _, done in batch:
                    if not done.done():
                        done.set_result(None)
        finally:
            self._writing = False


_writers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str | None, _SummaryWriter]] = (
    weakref.WeakKeyDictionary()
)


def _summary_writer(key: str | None) -> _SummaryWriter:
    per_loop = _writers.setdefault(asyncio.get_running_loop(), {})
    writer = per_loop.get(key)
    if writer is None:
        writer = per_loop[key] = _SummaryWriter(key)
    return writer


async def arecord_run_end(
    run: Any, result: ImbraceRunResult, credentials: ImbraceCredentials, *, summary: bool,
    linked: bool,
) -> None:
    """Everything Prefect shows of an ended wait, written once: the summary artifact (when
    `summary`; with the run's link unless `linked` wrote it already) and the run's steps as
    task runs of the waiting flow run (`prefect_imbrace.run_graph`, per its `show_steps`)."""
    if not _in_run_context():
        return
    if summary:
        await arecord_run_summary(run, result, None if linked else credentials,
                                  link_credentials=credentials)
    from prefect_imbrace.run_graph import areflect_ended_run

    await areflect_ended_run(run, credentials)


# -- fan-out --------------------------------------------------------------------------------------
async def acreate_progress(description: str) -> Any:
    """A progress artifact at 0 % for a fan-out (None outside a Prefect run)."""
    if not _in_run_context():
        return None
    from prefect.artifacts import acreate_progress_artifact

    try:
        return await acreate_progress_artifact(progress=0.0, description=description)
    except Exception as exc:  # a convenience: a fan-out starts even while the API is down
        _log.warning("Could not create the progress artifact: %s", exc)
        return None


class FanOutProgress:
    """A fan-out's progress artifact, written beside the fan-out, never in its way.

    Why: the fan-out's first trigger must not wait for the Prefect API to create an artifact
    (a cold server took a second or two), and a member whose run ended must not wait for an
    update either. The artifact is created in the background when the fan-out starts, updated
    at most every `EVERY` seconds while `done` (counted by the members) moves, and set to
    100 % by `finish()`. Outside a Prefect run it writes nothing.
    """

    EVERY = 1.0

    def __init__(self, description: str, total: int):
        self.total = total
        self.done = 0
        self._finished = asyncio.Event()
        self._writer = asyncio.ensure_future(self._write(description))

    async def _write(self, description: str) -> None:
        artifact = await acreate_progress(description)
        written = 0
        while not self._finished.is_set():
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._finished.wait(), self.EVERY)
            if not self._finished.is_set() and self.done != written:
                written = self.done
                await aupdate_progress(artifact, written, self.total)
        await aupdate_progress(artifact, self.total, self.total)

    async def finish(self) -> None:
        """Every member ended: write 100 % (errors are logged, never raised)."""
        self._finished.set()
        await self._writer

    def abandon(self) -> None:
        """The fan-out left early (suspended, interrupted): stop writing."""
        self._writer.cancel()


async def aupdate_progress(artifact_id: Any, done: int, total: int) -> None:
    if artifact_id is None or total <= 0:
        return
    from prefect.artifacts import aupdate_progress_artifact

    try:
        await aupdate_progress_artifact(artifact_id=artifact_id, progress=100.0 * done / total)
    except Exception as exc:
        _log.warning("Could not update the progress artifact: %s", exc)


def batch_row(
    credentials: ImbraceCredentials, index: int, outcome: Any, payload: Any = None
) -> dict[str, Any]:
    """One row of a fan-out's table (`index` counts from 1): a result, or what ended that wait."""
    from types import SimpleNamespace

    run_id = getattr(outcome, "run_id", None)
    run = getattr(outcome, "run", None)
    project_id = getattr(outcome, "project_id", None) or getattr(run, "project_id", None)
    flow_id = getattr(outcome, "flow_id", None)
    link = ""
    if run_id:
        link = run_url(credentials, SimpleNamespace(id=run_id, flow_id=flow_id, project_id=project_id)) or ""
    if isinstance(outcome, BaseException):
        status = getattr(outcome, "status", None) or type(outcome).__name__
        note = _cell(getattr(outcome, "failed_step", None) or shown(str(outcome), credentials, 300))
        seconds, result = _duration(run) if run is not None else None, ""
    else:
        status, note = outcome.status, ""
        seconds = round(outcome.duration_seconds, 2) if outcome.duration_seconds is not None else None
        result = shown(outcome.payload, credentials, CELL_CHARS)
    if seconds is not None:
        seconds = round(seconds, 2)
    return {
        "#": index, "status": status, "seconds": seconds, "result": result,
        "payload": shown(payload, credentials, CELL_CHARS), "imbrace_run": run_id or "-",
        "failed_step_or_error": note, "link": link,
    }


async def arecord_batch_table(
    credentials: ImbraceCredentials, flow_id: str, outcomes: list[Any],
    payloads: Sequence[Any] | None = None,
) -> None:
    """One table artifact for a whole fan-out: a row per run, numbered from 1, in payload order.

    Why one table and not a link and a summary per run: a batch of hundreds would write
    hundreds of artifacts (each a Prefect API call) that nobody pages through; a table is
    one write and sorts by status in the UI.
    """
    if not _in_run_context() or not outcomes:
        return
    from prefect.artifacts import acreate_table_artifact

    given = list(payloads) if payloads is not None else [None] * len(outcomes)
    if len(given) != len(outcomes):
        given = [None] * len(outcomes)

    def rows_of() -> list[dict[str, Any]]:
        return [batch_row(credentials, i, o, p) for i, (o, p) in enumerate(zip(outcomes, given, strict=True), start=1)]

    ok = sum(not isinstance(o, BaseException) for o in outcomes)
    try:
        rows = await asyncio.to_thread(rows_of)  # the first link may ask who the gateway is
        key = await _key("batch", flow_id)
        async with prefect_slots():
            await acreate_table_artifact(
                key=key,
                table=rows,
                description=f"{len(rows)} runs of Imbrace flow {flow_id}: {ok} succeeded.",
            )
    except Exception as exc:
        _log.warning("Could not create the table artifact of the fan-out: %s", exc)
