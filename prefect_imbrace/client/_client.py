"""`ImbraceClient` / `AsyncImbraceClient`: configuration + transport + the `workflows` resource."""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property
from types import TracebackType
from typing import Any

import httpx

from ._base import (
    DEFAULT_MAX_CONNECTIONS,
    DEFAULT_MAX_RETRIES,
    DEFAULT_TIMEOUT,
    INITIAL_RETRY_DELAY,
    MAX_RETRY_DELAY,
    AsyncAPIClient,
    RequestGate,
    SyncAPIClient,
)
from ._config import resolve_config
from .workflows import AsyncWorkflows, Workflows

__all__ = ["AsyncImbraceClient", "ImbraceClient"]


class ImbraceClient(SyncAPIClient):
    """Blocking client of the Imbrace workflow engine.

    Configure like the official SDK: `api_key=` (or `access_token=` + `organization_id=`), and
    `env=` ("stable", "prodv2", "develop", "sandbox"), `gateway=` or `engine_url=`; anything
    omitted is read from `IMBRACE_API_KEY`, `IMBRACE_ACCESS_TOKEN`, `IMBRACE_ORGANIZATION_ID`,
    `IMBRACE_GATEWAY_URL`, `IMBRACE_ENV`. Use it as a context manager (or call `close()`)::

        with ImbraceClient(api_key="...", gateway="https://app-gatewayv2.imbrace.co") as client:
            for run in client.workflows.iter_runs(flow_id=flow_id, status="FAILED"):
                ...

    `timeout` applies per request (override per call with `timeout=`), `max_retries` bounds the
    retries of requests that are safe to repeat, `max_connections` sizes the pool.
    `http_client=` / `transport=` inject an httpx client or transport (tests, proxies).
    `request_gate=` is passed by every request (and retry) before it is sent: a rate limit
    shared by several processes (`ImbraceCredentials.rate_limit` sets one).
    """

    def __init__(
        self,
        api_key: str | None = None,
        access_token: str | None = None,
        organization_id: str | None = None,
        env: str | None = None,
        gateway: str | None = None,
        engine_url: str | None = None,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
        http_client: httpx.Client | None = None,
        *,
        transport: httpx.BaseTransport | None = None,
        retry_initial_delay: float = INITIAL_RETRY_DELAY,
        retry_max_delay: float = MAX_RETRY_DELAY,
        sleep: Callable[[float], None] | None = None,
        request_gate: RequestGate | None = None,
    ):
        config = resolve_config(
            api_key=api_key,
            access_token=access_token,
            organization_id=organization_id,
            env=env,
            gateway=gateway,
            engine_url=engine_url,
        )
        super().__init__(
            config,
            timeout=timeout,
            max_retries=max_retries,
            max_connections=max_connections,
            http_client=http_client,
            transport=transport,
            retry_initial_delay=retry_initial_delay,
            retry_max_delay=retry_max_delay,
            sleep=sleep,
            request_gate=request_gate,
        )

    @cached_property
    def workflows(self) -> Workflows:
        """Flows, runs, webhooks, folders, connections, MCP servers, tables, pieces, invitations."""
        return Workflows(self)

    def __enter__(self) -> ImbraceClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class AsyncImbraceClient(AsyncAPIClient):
    """Asyncio twin of `ImbraceClient` (same arguments; `async with`, `await client.close()`)."""

    def __init__(
        self,
        api_key: str | None = None,
        access_token: str | None = None,
        organization_id: str | None = None,
        env: str | None = None,
        gateway: str | None = None,
        engine_url: str | None = None,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
        http_client: httpx.AsyncClient | None = None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        retry_initial_delay: float = INITIAL_RETRY_DELAY,
        retry_max_delay: float = MAX_RETRY_DELAY,
        sleep: Callable[[float], Any] | None = None,
        request_gate: RequestGate | None = None,
    ):
        config = resolve_config(
            api_key=api_key,
            access_token=access_token,
            organization_id=organization_id,
            env=env,
            gateway=gateway,
            engine_url=engine_url,
        )
        super().__init__(
            config,
            timeout=timeout,
            max_retries=max_retries,
            max_connections=max_connections,
            http_client=http_client,
            transport=transport,
            retry_initial_delay=retry_initial_delay,
            retry_max_delay=retry_max_delay,
            sleep=sleep,
            request_gate=request_gate,
        )

    @cached_property
    def workflows(self) -> AsyncWorkflows:
        """Async twin of `ImbraceClient.workflows`."""
        return AsyncWorkflows(self)

    async def __aenter__(self) -> AsyncImbraceClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()
