"""Prefect tasks for Imbrace objects as code, and finding a flow's id by its stable key.

`plan_imbrace_flows` / `aplan_imbrace_flows` and `apply_imbrace_flows` / `aapply_imbrace_flows`
are explicit sync/async pairs of plain tasks. The async twins run the same sync plan/apply code
in a worker thread (`asyncio.to_thread`): an apply is a chain of dependent requests with a
rollback per object, and one implementation of that logic is safer than two. Results are
summaries (text, counts, flow ids), never the plan itself, which holds connection secrets.

Imbrace flow ids differ from project to project; what the files give a flow is its key, kept in
the flow's `metadata`. `find_imbrace_flow_id` turns a key (or an engine `externalId`) into the
id of this project at run time, so a Prefect deployment carries the key, not an id.
"""

from __future__ import annotations

import asyncio

from prefect import get_run_logger, task
from pydantic import BaseModel, Field

from prefect_imbrace.client import Flow, ImbraceClient
from prefect_imbrace.credentials import ImbraceCredentials
from prefect_imbrace.exceptions import ImbraceError

from .apply import ApplyResult, apply_plan
from .loader import load_directory
from .plan import Plan, compute_plan
from .state import METADATA_KEY


class ImbraceFlowsPlan(BaseModel):
    """What `plan_imbrace_flows` returns: the readable plan and its counts."""

    has_changes: bool
    counts: dict[str, int]
    text: str


class ImbraceFlowsApplied(BaseModel):
    """What `apply_imbrace_flows` returns: the summary, counts and the id of every declared flow."""

    counts: dict[str, int]
    text: str
    flow_ids: dict[str, str] = Field(default_factory=dict)
    """Flow key -> the Imbrace flow id in this project."""


class ImbraceApplyFailed(ImbraceError):
    """At least one object failed to apply (each was rolled back); the message is the summary."""


class ImbraceFlowNotFound(ImbraceError, LookupError):
    """No flow (or more than one) of the project has this key or externalId."""


def _plan_summary(plan: Plan) -> ImbraceFlowsPlan:
    return ImbraceFlowsPlan(has_changes=plan.has_changes, counts=plan.counts(), text=plan.render())


def _applied(result: ApplyResult) -> ImbraceFlowsApplied:
    counts = {"create": 0, "update": 0, "delete": 0, "failed": len(result.failed)}
    for outcome in result.outcomes:
        if outcome.ok:
            counts[outcome.change.action] += 1
    counts["unchanged"] = len(result.plan.unchanged)
    if not result.ok:
        raise ImbraceApplyFailed(result.summary())
    return ImbraceFlowsApplied(counts=counts, text=result.summary(), flow_ids=result.flow_ids)


def plan_directory(client: ImbraceClient, directory: str, *, prune: bool = False) -> Plan:
    """Check the files (no request if they are bad), then compute the plan."""
    return compute_plan(client, load_directory(directory), prune=prune)


def apply_directory(client: ImbraceClient, directory: str, *, prune: bool = False) -> ApplyResult:
    """Check the files, plan, and apply; the result lists each object's outcome."""
    return apply_plan(client, plan_directory(client, directory, prune=prune))


@task(name="plan-imbrace-flows")
def plan_imbrace_flows(
    imbrace_credentials: ImbraceCredentials, directory: str, prune: bool = False
) -> ImbraceFlowsPlan:
    """What `apply_imbrace_flows` would change in the project (reads only); logs the plan."""
    logger = get_run_logger()
    with imbrace_credentials.get_client() as client:
        plan = plan_directory(client, directory, prune=prune)
    logger.info("Imbrace plan for %s:\n%s", directory, plan.render())
    return _plan_summary(plan)


@task(name="plan-imbrace-flows")
async def aplan_imbrace_flows(
    imbrace_credentials: ImbraceCredentials, directory: str, prune: bool = False
) -> ImbraceFlowsPlan:
    """Async twin of `plan_imbrace_flows` (the sync plan runs in a worker thread)."""
    logger = get_run_logger()
    with imbrace_credentials.get_client() as client:
        plan = await asyncio.to_thread(plan_directory, client, directory, prune=prune)
    logger.info("Imbrace plan for %s:\n%s", directory, plan.render())
    return _plan_summary(plan)


@task(name="apply-imbrace-flows")
def apply_imbrace_flows(
    imbrace_credentials: ImbraceCredentials, directory: str, prune: bool = False
) -> ImbraceFlowsApplied:
    """Make the project match the files; raises `ImbraceApplyFailed` if any object failed."""
    logger = get_run_logger()
    with imbrace_credentials.get_client() as client:
        result = apply_directory(client, directory, prune=prune)
    logger.info("Imbrace apply of %s:\n%s", directory, result.summary())
    return _applied(result)


@task(name="apply-imbrace-flows")
async def aapply_imbrace_flows(
    imbrace_credentials: ImbraceCredentials, directory: str, prune: bool = False
) -> ImbraceFlowsApplied:
    """Async twin of `apply_imbrace_flows` (the sync apply runs in a worker thread)."""
    logger = get_run_logger()
    with imbrace_credentials.get_client() as client:
        result = await asyncio.to_thread(apply_directory, client, directory, prune=prune)
    logger.info("Imbrace apply of %s:\n%s", directory, result.summary())
    return _applied(result)


def find_imbrace_flow_id(
    client: ImbraceClient, *, key: str | None = None, external_id: str | None = None
) -> str:
    """The id, in the client's project, of the flow with this as-code `key` or engine `externalId`.

    Raises `ImbraceFlowNotFound` when no flow (or more than one, for a key) matches.
    """
    if (key is None) == (external_id is None):
        raise ValueError("give exactly one of key= or external_id=")
    matches: list[Flow]
    if external_id is not None:
        page = client.workflows.list_flows(external_ids=[external_id], limit=2)
        matches = list(page.data)
        what = f"externalId {external_id!r}"
    else:
        matches = [
            f for f in client.workflows.iter_flows(limit=100)
            if (f.metadata or {}).get(METADATA_KEY) == key
        ]
        what = f"key {key!r} (metadata.{METADATA_KEY})"
    if len(matches) != 1:
        problem = "no Imbrace flow has" if not matches else f"{len(matches)} Imbrace flows have"
        raise ImbraceFlowNotFound(
            f"{problem} {what} in this project; run `prefect-imbrace apply` with the files that declare it."
        )
    return matches[0].id
