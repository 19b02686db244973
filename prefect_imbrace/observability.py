"""What an Imbrace run looks like in the Prefect UI: links, summaries, progress and events.

Events are named `imbrace.flow-run.<status lower-case>`; the resource is the Imbrace run
(`imbrace.flow-run.<id>`), the Imbrace flow and project are related resources, and inside a
Prefect run Prefect itself attaches the flow run / task run as related, so automations can
chain deployments on them. An event's id is derived from (run id, status), so the waiter and
the observer flow can both report the same transition and Prefect keeps one copy.

Nothing here ever receives credentials: only run ids, statuses, step names and step errors.
"""

from __future__ import annotations

import asyncio
import uuid
import weakref
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from prefect.logging.loggers import get_logger

if TYPE_CHECKING:
    from prefect_imbrace.credentials import ImbraceCredentials
    from prefect_imbrace.waiting.outcome import ImbraceRunResult

__all__ = [
    "EVENT_PREFIX",
    "acreate_progress",
    "arecord_batch_table",
    "arecord_run_link",
    "arecord_run_summary",
    "aupdate_progress",
    "emit_run_event",
    "event_name",
    "run_resource",
    "run_url",
    "summary_markdown",
]

EVENT_PREFIX = "imbrace.flow-run"
_EVENT_NAMESPACE = uuid.UUID("6f1c5a8e-3f0b-4d4c-9a53-6f2f0b1d7e21")
_log = get_logger("prefect_imbrace.observability")
_ARTIFACT_WRITES = 8
_write_slots: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
    weakref.WeakKeyDictionary()
)


def _slots() -> asyncio.Semaphore:
    """At most `_ARTIFACT_WRITES` artifact writes in flight per event loop.

    Why: hundreds of waits finishing together would otherwise queue hundreds of POSTs on the
    Prefect client's connection pool at once, and httpcore's pool queue costs O(queued) per
    request (a 500-task fan-out spent most of its time there, docs/benchmarks.md). A few
    writers drain the same queue faster.
    """
    loop = asyncio.get_running_loop()
    slots = _write_slots.get(loop)
    if slots is None:
        slots = _write_slots[loop] = asyncio.Semaphore(_ARTIFACT_WRITES)
    return slots


def _in_run_context() -> bool:
    from prefect.context import FlowRunContext, TaskRunContext

    return FlowRunContext.get() is not None or TaskRunContext.get() is not None


def _events_enabled() -> bool:
    """Inside a Prefect run, or with an API configured; never start a temporary server for it."""
    from prefect.settings import PREFECT_API_URL

    return _in_run_context() or bool(PREFECT_API_URL.value())


def run_url(credentials: ImbraceCredentials, run: Any) -> str:
    """Link to a run.

    With `ui_url` (block field or PREFECT_INTEGRATIONS_IMBRACE_UI_URL): the string is formatted
    with `{run_id}`, `{flow_id}` and `{project_id}` if it has placeholders, else
    `{ui_url}/projects/{project_id}/runs/{run_id}` (the Activepieces UI route). Without it: the
    run's JSON in the engine API, `{gateway}/activepieces/v1/flow-runs/{run_id}`.
    """
    from prefect_imbrace.waiting.clients import cached_setting

    fields = {
        "run_id": run.id,
        "flow_id": getattr(run, "flow_id", "") or "",
        "project_id": getattr(run, "project_id", "") or "",
    }
    ui = credentials.ui_url or cached_setting("ui_url")
    if ui:
        ui = ui.rstrip("/")
        if "{" in ui:
            return ui.format(**fields)
        return f"{ui}/projects/{fields['project_id']}/runs/{run.id}"
    return f"{_engine_url(credentials)}/v1/flow-runs/{run.id}"


_PRESETS = {
    "develop": "https://app-gateway.dev.imbrace.co",
    "sandbox": "https://app-gateway.sandbox.imbrace.co",
    "stable": "https://app-gatewayv2.imbrace.co",
    "prodv2": "https://app-gatewayv2.imbrace.co",
}


def _engine_url(credentials: ImbraceCredentials) -> str:
    import os

    from prefect_imbrace.waiting.clients import client_kwargs_of

    kwargs = client_kwargs_of(credentials)
    if kwargs["engine_url"]:
        return kwargs["engine_url"].rstrip("/")
    gateway = kwargs["gateway"] or os.environ.get("IMBRACE_GATEWAY_URL")
    if not gateway:
        env = (kwargs["env"] or os.environ.get("IMBRACE_ENV") or "stable").lower()
        gateway = _PRESETS.get(env, _PRESETS["stable"])
    return gateway.rstrip("/") + "/activepieces"


def event_name(status: str) -> str:
    return f"{EVENT_PREFIX}.{status.lower()}"


def run_resource(run: Any) -> dict[str, str]:
    name = getattr(getattr(run, "flow_version", None), "display_name", None)
    resource = {
        "prefect.resource.id": f"{EVENT_PREFIX}.{run.id}",
        "prefect.resource.name": f"{name or 'Imbrace run'} {run.id}",
        "imbrace.flow-run.status": str(run.status),
    }
    return resource


def _related(run: Any, flow_id: str | None) -> list[dict[str, str]]:
    related = []
    fid = flow_id or getattr(run, "flow_id", None)
    if fid:
        related.append({"prefect.resource.id": f"imbrace.flow.{fid}", "prefect.resource.role": "imbrace-flow"})
    project = getattr(run, "project_id", None)
    if project:
        related.append(
            {"prefect.resource.id": f"imbrace.project.{project}", "prefect.resource.role": "imbrace-project"}
        )
    return related


def _duration(run: Any) -> float | None:
    duration = getattr(run, "duration", None)
    return duration.total_seconds() if duration is not None else None


def emit_run_event(run: Any, *, flow_id: str | None = None) -> Any:
    """Emit `imbrace.flow-run.<status>` for the run's current status (idempotent per status)."""
    from prefect.events import emit_event

    if not run.status or not _events_enabled():
        return None
    payload = {
        "run_id": run.id,
        "flow_id": flow_id or getattr(run, "flow_id", None),
        "status": run.status,
        "duration_seconds": _duration(run),
        "failed_step": getattr(run, "failed_step_name", None),
    }
    return emit_event(
        event=event_name(run.status),
        resource=run_resource(run),
        related=_related(run, flow_id),
        payload={k: v for k, v in payload.items() if v is not None},
        id=uuid.uuid5(_EVENT_NAMESPACE, f"{run.id}:{run.status}"),
    )


async def arecord_run_link(credentials: ImbraceCredentials, run: Any) -> None:
    """A link artifact to the run on the current Prefect flow/task run."""
    if not _in_run_context():
        return
    from prefect.artifacts import acreate_link_artifact

    try:
        async with _slots():
            await acreate_link_artifact(
                link=run_url(credentials, run),
                link_text=f"Imbrace run {run.id}",
                description=f"Imbrace run {run.id} of flow {run.flow_id}.",
            )
    except Exception as exc:  # artifacts are a convenience; never fail the wait for one
        _log.warning("Could not create the link artifact for Imbrace run %s: %s", run.id, exc)


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    return text.replace("|", "\\|").replace("\n", " ")[:300]


def summary_markdown(result: ImbraceRunResult, link: str | None = None) -> str:
    """Status, duration and a row per step (status, duration, error); `link` opens the run."""
    duration = f"{result.duration_seconds:.2f}s" if result.duration_seconds is not None else "-"
    lines = [
        f"### Imbrace run `{result.run_id}`",
        "",
        *([f"[Open the run]({link})", ""] if link else []),
        f"- **Flow:** `{result.flow_id}`",
        f"- **Status:** {result.status}",
        f"- **Duration:** {duration}",
        "",
        "| Step | Status | Duration | Error |",
        "|---|---|---|---|",
    ]
    for step in result.steps.values():
        ms = f"{step.duration_ms:.0f} ms" if step.duration_ms is not None else "-"
        lines.append(f"| {_cell(step.name)} | {_cell(step.status)} | {ms} | {_cell(step.error)} |")
    return "\n".join(lines)


async def arecord_run_summary(
    run: Any, result: ImbraceRunResult, credentials: ImbraceCredentials | None = None
) -> None:
    """A markdown artifact summarising a finished run; with `credentials` it links to the run.

    The waiter passes credentials when it found the run only once it had ended (no link
    artifact was written while it ran), so one artifact per run carries both.
    """
    if not _in_run_context():
        return
    from prefect.artifacts import acreate_markdown_artifact

    link = run_url(credentials, run) if credentials is not None else None
    try:
        async with _slots():
            await acreate_markdown_artifact(
                markdown=summary_markdown(result, link),
                description=f"Imbrace run {result.run_id}: {result.status}.",
            )
    except Exception as exc:
        _log.warning("Could not create the summary artifact for run %s: %s", result.run_id, exc)


async def acreate_progress(description: str) -> Any:
    """A progress artifact at 0 % for a fan-out (None outside a Prefect run)."""
    if not _in_run_context():
        return None
    from prefect.artifacts import acreate_progress_artifact

    return await acreate_progress_artifact(progress=0.0, description=description)


async def aupdate_progress(artifact_id: Any, done: int, total: int) -> None:
    if artifact_id is None or total <= 0:
        return
    from prefect.artifacts import aupdate_progress_artifact

    try:
        await aupdate_progress_artifact(artifact_id=artifact_id, progress=100.0 * done / total)
    except Exception as exc:
        _log.warning("Could not update the progress artifact: %s", exc)


def batch_row(credentials: ImbraceCredentials, index: int, outcome: Any) -> dict[str, Any]:
    """One row of a fan-out's table: a result, or the error that ended that run's wait."""
    run_id = getattr(outcome, "run_id", None)
    run = getattr(outcome, "run", None)
    project_id = getattr(outcome, "project_id", None) or getattr(run, "project_id", None)
    flow_id = getattr(outcome, "flow_id", None)
    link = ""
    if run_id:
        link = run_url(credentials, SimpleNamespace(id=run_id, flow_id=flow_id, project_id=project_id))
    if isinstance(outcome, BaseException):
        status = getattr(outcome, "status", None) or type(outcome).__name__
        note = _cell(getattr(outcome, "failed_step", None) or outcome)
        seconds = None
    else:
        status, note = outcome.status, ""
        seconds = round(outcome.duration_seconds, 2) if outcome.duration_seconds is not None else None
    return {"#": index, "imbrace_run": run_id or "-", "status": status, "seconds": seconds,
            "failed_step_or_error": note, "link": link}


async def arecord_batch_table(
    credentials: ImbraceCredentials, flow_id: str, outcomes: list[Any]
) -> None:
    """One table artifact for a whole fan-out: a row per run, in payload order.

    Why one table and not a link and a summary per run: a batch of hundreds would write
    hundreds of artifacts (each a Prefect API call) that nobody pages through; a table is
    one write and sorts by status in the UI.
    """
    if not _in_run_context() or not outcomes:
        return
    from prefect.artifacts import acreate_table_artifact

    rows = [batch_row(credentials, i, outcome) for i, outcome in enumerate(outcomes)]
    ok = sum(not isinstance(o, BaseException) for o in outcomes)
    try:
        async with _slots():
            await acreate_table_artifact(
                table=rows,
                description=f"{len(rows)} runs of Imbrace flow {flow_id}: {ok} succeeded.",
            )
    except Exception as exc:
        _log.warning("Could not create the table artifact of the fan-out: %s", exc)
