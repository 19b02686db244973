"""Tasks for Imbrace flow runs: each a sync task and its async twin `a<name>`."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from prefect_imbrace.exactly_once.outcome import redact_run
from prefect_imbrace.tasks._clients import async_client_of, client_of

if TYPE_CHECKING:
    from prefect_imbrace.client import FlowRun, SeekPage, SyncReply
    from prefect_imbrace.client.endpoints.runs import RunStrategy
    from prefect_imbrace.credentials import ImbraceCredentials


@task(name="List Imbrace runs", cache_policy=NO_CACHE)
def list_runs(
    imbrace_credentials: ImbraceCredentials,
    limit: int = 10,
    cursor: str | None = None,
    flow_id: str | list[str] | None = None,
    status: str | list[str] | None = None,
    project_id: str | None = None,
    created_after: datetime | str | None = None,
    **filters: Any,
) -> SeekPage[FlowRun]:
    """One page of production runs, newest first (lists carry no step outputs)."""
    get_run_logger().info("Listing Imbrace runs (flow %s, status %s).", flow_id, status)
    with client_of(imbrace_credentials) as client:
        return client.workflows.list_runs(
            limit, cursor, flow_id, status, project_id, created_after=created_after, **filters
        )


@task(name="List Imbrace runs", cache_policy=NO_CACHE)
async def alist_runs(
    imbrace_credentials: ImbraceCredentials,
    limit: int = 10,
    cursor: str | None = None,
    flow_id: str | list[str] | None = None,
    status: str | list[str] | None = None,
    project_id: str | None = None,
    created_after: datetime | str | None = None,
    **filters: Any,
) -> SeekPage[FlowRun]:
    """Async twin of `list_runs`."""
    get_run_logger().info("Listing Imbrace runs (flow %s, status %s).", flow_id, status)
    async with async_client_of(imbrace_credentials) as client:
        return await client.workflows.list_runs(
            limit, cursor, flow_id, status, project_id, created_after=created_after, **filters
        )


@task(name="Get Imbrace run", cache_policy=NO_CACHE)
def get_run(imbrace_credentials: ImbraceCredentials, run_id: str) -> FlowRun:
    """One run with its step outputs; never cached, statuses change.

    The trigger step records the request headers, which through the gateway include the
    caller's `x-access-token`: the task result shows it redacted.
    """
    get_run_logger().info("Reading Imbrace run %s.", run_id)
    with client_of(imbrace_credentials) as client:
        return redact_run(client.workflows.get_run(run_id=run_id))


@task(name="Get Imbrace run", cache_policy=NO_CACHE)
async def aget_run(imbrace_credentials: ImbraceCredentials, run_id: str) -> FlowRun:
    """Async twin of `get_run`."""
    get_run_logger().info("Reading Imbrace run %s.", run_id)
    async with async_client_of(imbrace_credentials) as client:
        return redact_run(await client.workflows.get_run(run_id=run_id))


@task(name="Retry Imbrace run", cache_policy=NO_CACHE)
def retry_run(
    imbrace_credentials: ImbraceCredentials, run_id: str, strategy: RunStrategy = "FROM_FAILED_STEP"
) -> FlowRun:
    """Retry a run: FROM_FAILED_STEP resumes the same run; ON_LATEST_VERSION starts a new one."""
    get_run_logger().info("Retrying Imbrace run %s (%s).", run_id, strategy)
    with client_of(imbrace_credentials) as client:
        return redact_run(client.workflows.retry_run(run_id=run_id, strategy=strategy))


@task(name="Retry Imbrace run", cache_policy=NO_CACHE)
async def aretry_run(
    imbrace_credentials: ImbraceCredentials, run_id: str, strategy: RunStrategy = "FROM_FAILED_STEP"
) -> FlowRun:
    """Async twin of `retry_run`."""
    get_run_logger().info("Retrying Imbrace run %s (%s).", run_id, strategy)
    async with async_client_of(imbrace_credentials) as client:
        return redact_run(await client.workflows.retry_run(run_id=run_id, strategy=strategy))


@task(name="Resume Imbrace run", cache_policy=NO_CACHE)
def resume_run(
    imbrace_credentials: ImbraceCredentials, run_id: str, request_id: str, payload: Any = None,
    timeout: float | None = None,
) -> SyncReply:
    """Resume a run paused by Respond and Wait for Next Webhook (an approval) with `payload`;
    the resumed run's next reply. The ids come from the PAUSED run (`run.resume_request_id`)."""
    get_run_logger().info("Resuming Imbrace run %s.", run_id)
    with client_of(imbrace_credentials) as client:
        return client.workflows.resume_run(run_id, request_id, payload, timeout=timeout)


@task(name="Resume Imbrace run", cache_policy=NO_CACHE)
async def aresume_run(
    imbrace_credentials: ImbraceCredentials, run_id: str, request_id: str, payload: Any = None,
    timeout: float | None = None,
) -> SyncReply:
    """Async twin of `resume_run`."""
    get_run_logger().info("Resuming Imbrace run %s.", run_id)
    async with async_client_of(imbrace_credentials) as client:
        return await client.workflows.resume_run(run_id, request_id, payload, timeout=timeout)


@task(name="Cancel Imbrace runs", cache_policy=NO_CACHE)
def cancel_runs(
    imbrace_credentials: ImbraceCredentials,
    flow_run_ids: list[str] | None = None,
    flow_id: str | list[str] | None = None,
    status: str | list[str] | None = None,
    **filters: Any,
) -> None:
    """Cancel the selected runs; the engine only cancels QUEUED and PAUSED ones."""
    get_run_logger().info("Cancelling Imbrace runs (ids %s, flow %s).", flow_run_ids, flow_id)
    with client_of(imbrace_credentials) as client:
        client.workflows.cancel_runs(
            flow_run_ids=flow_run_ids, flow_id=flow_id, status=status, **filters
        )


@task(name="Cancel Imbrace runs", cache_policy=NO_CACHE)
async def acancel_runs(
    imbrace_credentials: ImbraceCredentials,
    flow_run_ids: list[str] | None = None,
    flow_id: str | list[str] | None = None,
    status: str | list[str] | None = None,
    **filters: Any,
) -> None:
    """Async twin of `cancel_runs`."""
    get_run_logger().info("Cancelling Imbrace runs (ids %s, flow %s).", flow_run_ids, flow_id)
    async with async_client_of(imbrace_credentials) as client:
        await client.workflows.cancel_runs(
            flow_run_ids=flow_run_ids, flow_id=flow_id, status=status, **filters
        )


@task(name="Retry Imbrace runs", cache_policy=NO_CACHE)
def retry_runs(
    imbrace_credentials: ImbraceCredentials,
    strategy: RunStrategy = "FROM_FAILED_STEP",
    flow_run_ids: list[str] | None = None,
    flow_id: str | list[str] | None = None,
    status: str | list[str] | None = None,
    **filters: Any,
) -> list[FlowRun | None]:
    """Retry every selected run at once (a selector is required: the engine would take all)."""
    get_run_logger().info(
        "Retrying Imbrace runs (%s; ids %s, flow %s).", strategy, flow_run_ids, flow_id
    )
    with client_of(imbrace_credentials) as client:
        return client.workflows.retry_runs(
            strategy=strategy, flow_run_ids=flow_run_ids, flow_id=flow_id, status=status, **filters
        )


@task(name="Retry Imbrace runs", cache_policy=NO_CACHE)
async def aretry_runs(
    imbrace_credentials: ImbraceCredentials,
    strategy: RunStrategy = "FROM_FAILED_STEP",
    flow_run_ids: list[str] | None = None,
    flow_id: str | list[str] | None = None,
    status: str | list[str] | None = None,
    **filters: Any,
) -> list[FlowRun | None]:
    """Async twin of `retry_runs`."""
    get_run_logger().info(
        "Retrying Imbrace runs (%s; ids %s, flow %s).", strategy, flow_run_ids, flow_id
    )
    async with async_client_of(imbrace_credentials) as client:
        return await client.workflows.retry_runs(
            strategy=strategy, flow_run_ids=flow_run_ids, flow_id=flow_id, status=status, **filters
        )


@task(name="Archive Imbrace runs", cache_policy=NO_CACHE)
def archive_runs(
    imbrace_credentials: ImbraceCredentials,
    flow_run_ids: list[str] | None = None,
    flow_id: str | list[str] | None = None,
    status: str | list[str] | None = None,
    **filters: Any,
) -> None:
    """Archive the selected runs (hidden from `list_runs(archived=False)`, kept otherwise)."""
    get_run_logger().info("Archiving Imbrace runs (ids %s, flow %s).", flow_run_ids, flow_id)
    with client_of(imbrace_credentials) as client:
        client.workflows.archive_runs(
            flow_run_ids=flow_run_ids, flow_id=flow_id, status=status, **filters
        )


@task(name="Archive Imbrace runs", cache_policy=NO_CACHE)
async def aarchive_runs(
    imbrace_credentials: ImbraceCredentials,
    flow_run_ids: list[str] | None = None,
    flow_id: str | list[str] | None = None,
    status: str | list[str] | None = None,
    **filters: Any,
) -> None:
    """Async twin of `archive_runs`."""
    get_run_logger().info("Archiving Imbrace runs (ids %s, flow %s).", flow_run_ids, flow_id)
    async with async_client_of(imbrace_credentials) as client:
        await client.workflows.archive_runs(
            flow_run_ids=flow_run_ids, flow_id=flow_id, status=status, **filters
        )
