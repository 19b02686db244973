"""Tasks for Imbrace flows and their webhooks: each a sync task and its async twin `a<name>`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from prefect_imbrace.tasks._clients import async_client_of, client_of

if TYPE_CHECKING:
    from prefect_imbrace.client import Flow, SeekPage, SyncReply, TriggerReceipt
    from prefect_imbrace.client.operations import FlowOperation
    from prefect_imbrace.credentials import ImbraceCredentials


def _operation_type(operation: Any) -> Any:
    if isinstance(operation, Mapping):
        return operation.get("type")
    return getattr(operation, "type", "?")


@task(name="List Imbrace flows", cache_policy=NO_CACHE)
def list_flows(
    imbrace_credentials: ImbraceCredentials,
    limit: int = 10,
    cursor: str | None = None,
    project_id: str | None = None,
    folder_id: str | None = None,
    status: str | list[str] | None = None,
    **filters: Any,
) -> SeekPage[Flow]:
    """One page of Imbrace flows; `filters` are the client's (folder_id, status, name, ...)."""
    get_run_logger().info("Listing Imbrace flows.")
    with client_of(imbrace_credentials) as client:
        return client.workflows.list_flows(limit, cursor, project_id, folder_id, status, **filters)


@task(name="List Imbrace flows", cache_policy=NO_CACHE)
async def alist_flows(
    imbrace_credentials: ImbraceCredentials,
    limit: int = 10,
    cursor: str | None = None,
    project_id: str | None = None,
    folder_id: str | None = None,
    status: str | list[str] | None = None,
    **filters: Any,
) -> SeekPage[Flow]:
    """Async twin of `list_flows`."""
    get_run_logger().info("Listing Imbrace flows.")
    async with async_client_of(imbrace_credentials) as client:
        return await client.workflows.list_flows(
            limit, cursor, project_id, folder_id, status, **filters
        )


@task(name="Get Imbrace flow", cache_policy=NO_CACHE)
def get_flow(
    imbrace_credentials: ImbraceCredentials, flow_id: str, version_id: str | None = None
) -> Flow:
    """One Imbrace flow with its latest (or the given) version."""
    get_run_logger().info("Reading Imbrace flow %s.", flow_id)
    with client_of(imbrace_credentials) as client:
        return client.workflows.get_flow(flow_id=flow_id, version_id=version_id)


@task(name="Get Imbrace flow", cache_policy=NO_CACHE)
async def aget_flow(
    imbrace_credentials: ImbraceCredentials, flow_id: str, version_id: str | None = None
) -> Flow:
    """Async twin of `get_flow`."""
    get_run_logger().info("Reading Imbrace flow %s.", flow_id)
    async with async_client_of(imbrace_credentials) as client:
        return await client.workflows.get_flow(flow_id=flow_id, version_id=version_id)


@task(name="Create Imbrace flow", cache_policy=NO_CACHE)
def create_flow(
    imbrace_credentials: ImbraceCredentials,
    display_name: str,
    project_id: str | None = None,
    folder_id: str | None = None,
    folder_name: str | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> Flow:
    """A new, disabled Imbrace flow with an empty trigger."""
    get_run_logger().info("Creating Imbrace flow %r.", display_name)
    with client_of(imbrace_credentials) as client:
        return client.workflows.create_flow(
            display_name,
            project_id,
            folder_id=folder_id,
            folder_name=folder_name,
            metadata=metadata,
        )


@task(name="Create Imbrace flow", cache_policy=NO_CACHE)
async def acreate_flow(
    imbrace_credentials: ImbraceCredentials,
    display_name: str,
    project_id: str | None = None,
    folder_id: str | None = None,
    folder_name: str | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> Flow:
    """Async twin of `create_flow`."""
    get_run_logger().info("Creating Imbrace flow %r.", display_name)
    async with async_client_of(imbrace_credentials) as client:
        return await client.workflows.create_flow(
            display_name,
            project_id,
            folder_id=folder_id,
            folder_name=folder_name,
            metadata=metadata,
        )


@task(name="Delete Imbrace flow", cache_policy=NO_CACHE)
def delete_flow(imbrace_credentials: ImbraceCredentials, flow_id: str) -> None:
    """Delete an Imbrace flow (the engine finishes the deletion in the background)."""
    get_run_logger().info("Deleting Imbrace flow %s.", flow_id)
    with client_of(imbrace_credentials) as client:
        client.workflows.delete_flow(flow_id=flow_id)


@task(name="Delete Imbrace flow", cache_policy=NO_CACHE)
async def adelete_flow(imbrace_credentials: ImbraceCredentials, flow_id: str) -> None:
    """Async twin of `delete_flow`."""
    get_run_logger().info("Deleting Imbrace flow %s.", flow_id)
    async with async_client_of(imbrace_credentials) as client:
        await client.workflows.delete_flow(flow_id=flow_id)


@task(name="Apply Imbrace flow operation", cache_policy=NO_CACHE)
def apply_flow_operation(
    imbrace_credentials: ImbraceCredentials,
    flow_id: str,
    operation: FlowOperation | Mapping[str, Any],
) -> Flow:
    """Apply one flow operation (`prefect_imbrace.client.operations` builds them)."""
    get_run_logger().info("Applying %s to Imbrace flow %s.", _operation_type(operation), flow_id)
    with client_of(imbrace_credentials) as client:
        return client.workflows.apply_flow_operation(flow_id=flow_id, operation=operation)


@task(name="Apply Imbrace flow operation", cache_policy=NO_CACHE)
async def aapply_flow_operation(
    imbrace_credentials: ImbraceCredentials,
    flow_id: str,
    operation: FlowOperation | Mapping[str, Any],
) -> Flow:
    """Async twin of `apply_flow_operation`."""
    get_run_logger().info("Applying %s to Imbrace flow %s.", _operation_type(operation), flow_id)
    async with async_client_of(imbrace_credentials) as client:
        return await client.workflows.apply_flow_operation(flow_id=flow_id, operation=operation)


@task(name="Trigger Imbrace flow", cache_policy=NO_CACHE)
def trigger_flow(
    imbrace_credentials: ImbraceCredentials,
    flow_id: str,
    payload: Any = None,
    headers: Mapping[str, str] | None = None,
    draft: bool = False,
) -> TriggerReceipt:
    """Fire the flow's webhook once and return the receipt (no run id: the engine gives none).

    This is a single POST, never re-sent. To run a flow exactly once and get its outcome,
    use `trigger_flow_and_wait`.
    """
    get_run_logger().info("Triggering Imbrace flow %s.", flow_id)
    with client_of(imbrace_credentials) as client:
        return client.workflows.trigger_flow(
            flow_id=flow_id, payload=payload, headers=headers, draft=draft
        )


@task(name="Trigger Imbrace flow", cache_policy=NO_CACHE)
async def atrigger_flow(
    imbrace_credentials: ImbraceCredentials,
    flow_id: str,
    payload: Any = None,
    headers: Mapping[str, str] | None = None,
    draft: bool = False,
) -> TriggerReceipt:
    """Async twin of `trigger_flow`."""
    get_run_logger().info("Triggering Imbrace flow %s.", flow_id)
    async with async_client_of(imbrace_credentials) as client:
        return await client.workflows.trigger_flow(
            flow_id=flow_id, payload=payload, headers=headers, draft=draft
        )


@task(name="Trigger Imbrace flow synchronously", cache_policy=NO_CACHE)
def trigger_flow_sync(
    imbrace_credentials: ImbraceCredentials,
    flow_id: str,
    payload: Any = None,
    headers: Mapping[str, str] | None = None,
    draft: bool = False,
    timeout: float | None = None,
) -> SyncReply:
    """Call the flow's sync webhook and return its reply (the engine holds it up to 30 s)."""
    get_run_logger().info("Calling Imbrace flow %s synchronously.", flow_id)
    with client_of(imbrace_credentials) as client:
        return client.workflows.trigger_flow_sync(
            flow_id=flow_id, payload=payload, headers=headers, draft=draft, timeout=timeout
        )


@task(name="Trigger Imbrace flow synchronously", cache_policy=NO_CACHE)
async def atrigger_flow_sync(
    imbrace_credentials: ImbraceCredentials,
    flow_id: str,
    payload: Any = None,
    headers: Mapping[str, str] | None = None,
    draft: bool = False,
    timeout: float | None = None,
) -> SyncReply:
    """Async twin of `trigger_flow_sync`."""
    get_run_logger().info("Calling Imbrace flow %s synchronously.", flow_id)
    async with async_client_of(imbrace_credentials) as client:
        return await client.workflows.trigger_flow_sync(
            flow_id=flow_id, payload=payload, headers=headers, draft=draft, timeout=timeout
        )
