"""Rotating an MCP token: the new token goes straight into a Prefect `Secret` block if asked."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from prefect import get_run_logger
from prefect.blocks.system import Secret

from prefect_imbrace.tasks._dispatch import make_task
from prefect_imbrace.tasks._operation import credentials_of

if TYPE_CHECKING:
    from prefect_imbrace.credentials import ImbraceCredentials


def _rotate_mcp_token(
    imbrace_credentials: ImbraceCredentials,
    mcp_server_id: str,
    secret_block_name: str | None = None,
) -> Any:
    """Give an MCP server a new token (the old one stops working) and return the server.

    The token is a `SecretStr` in the returned model; it is never logged and the task's result
    is never persisted. With `secret_block_name`, the new token is also saved (overwriting)
    as a Prefect `Secret` block of that name, so deployments can `Secret.load(name)` it.
    """
    raise NotImplementedError


def _token(server: Any) -> str:
    token = server.token
    return token.get_secret_value() if hasattr(token, "get_secret_value") else str(token)


def _sync_rotate(*args: Any, **kwargs: Any) -> Any:
    import inspect

    bound = inspect.signature(_rotate_mcp_token).bind(*args, **kwargs).arguments
    creds = credentials_of(inspect.signature(_rotate_mcp_token), args, kwargs)
    log = get_run_logger()
    log.info("Rotating the token of Imbrace MCP server %s.", bound["mcp_server_id"])
    with creds.get_client() as client:
        server = client.workflows.rotate_mcp_token(bound["mcp_server_id"])
    name = bound.get("secret_block_name")
    if name:
        Secret(value=_token(server)).save(name, overwrite=True, _sync=True)
        log.info("Stored the new token in Secret block %r.", name)
    return server


async def _async_rotate(*args: Any, **kwargs: Any) -> Any:
    import inspect

    bound = inspect.signature(_rotate_mcp_token).bind(*args, **kwargs).arguments
    creds = credentials_of(inspect.signature(_rotate_mcp_token), args, kwargs)
    log = get_run_logger()
    log.info("Rotating the token of Imbrace MCP server %s.", bound["mcp_server_id"])
    async with creds.get_async_client() as client:
        server = await client.workflows.rotate_mcp_token(bound["mcp_server_id"])
    name = bound.get("secret_block_name")
    if name:
        await Secret(value=_token(server)).asave(name, overwrite=True)
        log.info("Stored the new token in Secret block %r.", name)
    return server


rotate_mcp_token = make_task(
    _sync_rotate, _async_rotate, name="Rotate Imbrace MCP token", like=_rotate_mcp_token,
    secret=True,
)
