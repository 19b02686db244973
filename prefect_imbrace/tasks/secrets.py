"""Rotating an MCP token: the new token goes straight into a Prefect `Secret` block if asked."""

from __future__ import annotations

from typing import TYPE_CHECKING

from prefect import get_run_logger, task
from prefect.blocks.system import Secret
from prefect.cache_policies import NO_CACHE

from prefect_imbrace.tasks._clients import async_client_of, client_of

if TYPE_CHECKING:
    from prefect_imbrace.client import McpServer
    from prefect_imbrace.credentials import ImbraceCredentials


def _token(server: McpServer) -> str:
    return server.token.get_secret_value() if server.token is not None else ""


@task(name="Rotate Imbrace MCP token", cache_policy=NO_CACHE, persist_result=False)
def rotate_mcp_token(
    imbrace_credentials: ImbraceCredentials,
    mcp_server_id: str,
    secret_block_name: str | None = None,
) -> McpServer:
    """Give an MCP server a new token (the old one stops working) and return the server.

    The token is a `SecretStr` in the returned model; it is never logged and the task's result
    is never persisted. With `secret_block_name`, the new token is also saved (overwriting)
    as a Prefect `Secret` block of that name, so deployments can `Secret.load(name)` it.
    """
    log = get_run_logger()
    log.info("Rotating the token of Imbrace MCP server %s.", mcp_server_id)
    with client_of(imbrace_credentials) as client:
        server = client.workflows.rotate_mcp_token(mcp_server_id=mcp_server_id)
    if secret_block_name:
        Secret(value=_token(server)).save(secret_block_name, overwrite=True)
        log.info("Stored the new token in Secret block %r.", secret_block_name)
    return server


@task(name="Rotate Imbrace MCP token", cache_policy=NO_CACHE, persist_result=False)
async def arotate_mcp_token(
    imbrace_credentials: ImbraceCredentials,
    mcp_server_id: str,
    secret_block_name: str | None = None,
) -> McpServer:
    """Async twin of `rotate_mcp_token`."""
    log = get_run_logger()
    log.info("Rotating the token of Imbrace MCP server %s.", mcp_server_id)
    async with async_client_of(imbrace_credentials) as client:
        server = await client.workflows.rotate_mcp_token(mcp_server_id=mcp_server_id)
    if secret_block_name:
        await Secret(value=_token(server)).asave(secret_block_name, overwrite=True)
        log.info("Stored the new token in Secret block %r.", secret_block_name)
    return server
