"""What an Imbrace run looks like in the Prefect UI: links, summaries, progress and events.

Events are named `imbrace.flow-run.<status lower-case>`; the resource is the Imbrace run
(`imbrace.flow-run.<id>`), the Imbrace flow and project are related resources, and inside a
Prefect run Prefect itself attaches the flow run / task run as related, so automations can
chain deployments on them. An event's id is derived from (run id, status), so the waiter and
the observer flow can both report the same transition and Prefect keeps one copy.

Nothing here ever receives credentials: only run ids, statuses, step names and step errors.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from prefect.logging.loggers import get_logger

if TYPE_CHECKING:
    from prefect_imbrace.credentials import ImbraceCredentials
    from prefect_imbrace.waiting.outcome import ImbraceRunResult

__all__ = [
    "EVENT_PREFIX",
    "acreate_progress",
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


def summary_markdown(result: ImbraceRunResult) -> str:
    """Status, duration and a row per step (status, duration, error)."""
    duration = f"{result.duration_seconds:.2f}s" if result.duration_seconds is not None else "-"
    lines = [
        f"### Imbrace run `{result.run_id}`",
        "",
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


async def arecord_run_summary(run: Any, result: ImbraceRunResult) -> None:
    """A markdown artifact summarising a finished run."""
    if not _in_run_context():
        return
    from prefect.artifacts import acreate_markdown_artifact

    try:
        await acreate_markdown_artifact(
            markdown=summary_markdown(result),
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
