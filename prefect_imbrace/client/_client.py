"""`ImbraceClient` / `AsyncImbraceClient`: configuration + transport + the `workflows` resource.

Everything the two share (configuration, request building, the retry policy, error mapping)
lives once in `_base._BaseAPIClient`; each class here only owns its httpx client, its sleep
function and the send loop, blocking or awaited: the first attempt is sent directly, and
tenacity is built only when its outcome calls for a retry (`_BaseAPIClient._first_pause`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from functools import cached_property
from types import TracebackType
from typing import Any, TypeVar

import httpx
from tenacity import AsyncRetrying, Retrying
from typing_extensions import Unpack

from ..exceptions import ImbraceConfigurationError
from ._base import Call, ClientOptions, Outcome, _BaseAPIClient, shared_ssl_context
from .workflows import AsyncWorkflows, Workflows

__all__ = ["AsyncImbraceClient", "ImbraceClient"]

T = TypeVar("T")


class ImbraceClient(_BaseAPIClient):
    """Blocking client of the Imbrace workflow engine.

    Configure like the official SDK: `api_key=` (or `access_token=` + `organization_id=`), and
    `env=` ("stable", "prodv2", "develop", "sandbox"), `gateway=` or `engine_url=`; anything
    omitted is read from `IMBRACE_API_KEY`, `IMBRACE_ACCESS_TOKEN`, `IMBRACE_ORGANIZATION_ID`,
    `IMBRACE_GATEWAY_URL`, `IMBRACE_ENV`. Use it as a context manager (or call `close()`)::

        with ImbraceClient(api_key="...", gateway="https://app-gatewayv2.imbrace.co") as client:
            for run in client.workflows.iter_runs(flow_id=flow_id, status="FAILED"):
                ...

    Every argument is keyword-only. `timeout` applies per request (override per call with
    `timeout=`), `max_retries` bounds the retries of requests that are safe to repeat,
    `max_connections` sizes the pool, `retry_initial_delay` / `retry_max_delay` shape the
    backoff. `http_client=` / `transport=` inject an httpx client or transport (tests,
    proxies); `sleep=` replaces the wait between retries. `request_gate=` is passed by every
    request (and retry) before it is sent: a rate limit shared by several processes
    (`ImbraceCredentials.rate_limit` sets one).
    """

    def __init__(
        self,
        *,
        http_client: httpx.Client | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] | None = None,
        **options: Unpack[ClientOptions],
    ):
        super().__init__(**options)
        if http_client is not None and not isinstance(http_client, httpx.Client):
            raise ImbraceConfigurationError(
                "http_client must be an httpx.Client for the sync client."
            )
        self._owns_http = http_client is None
        self._http = http_client or httpx.Client(
            timeout=self.timeout, limits=self._limits, transport=transport,
            verify=shared_ssl_context(),
        )
        self._sleep = sleep or time.sleep

    @cached_property
    def workflows(self) -> Workflows:
        """Flows, runs, webhooks, folders, connections, MCP servers, tables, pieces, invitations."""
        return Workflows(self)

    def request(self, call: Call[T]) -> T:
        """Perform one logical call: send, repeat what the retry policy allows, decode or raise."""
        request = self._build_request(self._http, call)
        outcome, attempts = self._attempt(request), 1
        pause = self._first_pause(call, outcome)
        if pause is not None:
            self._sleep(pause)
            retrying = Retrying(sleep=self._sleep, **self._retrying_kwargs(call))
            outcome = retrying(self._attempt, request)
            attempts += retrying.statistics["attempt_number"]
        return self._finish(call, outcome, attempts)

    def _attempt(self, request: httpx.Request) -> Outcome:
        """One attempt: wait at the request gate (if any), then send."""
        if self._gate is not None:
            self._gate.acquire()
        try:
            return self._http.send(request)
        except httpx.TransportError as exc:
            return exc

    def close(self) -> None:
        """Close the connection pool (only when this object created it)."""
        if self._owns_http:
            self._http.close()

    @property
    def is_closed(self) -> bool:
        return self._http.is_closed

    def __enter__(self) -> ImbraceClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class AsyncImbraceClient(_BaseAPIClient):
    """Asyncio twin of `ImbraceClient` (same arguments; `async with`, `await client.close()`)."""

    def __init__(
        self,
        *,
        http_client: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Awaitable[Any]] | None = None,
        **options: Unpack[ClientOptions],
    ):
        super().__init__(**options)
        if http_client is not None and not isinstance(http_client, httpx.AsyncClient):
            raise ImbraceConfigurationError(
                "http_client must be an httpx.AsyncClient for the async client."
            )
        self._owns_http = http_client is None
        if http_client is None and transport is None:
            from ._aiohttp import ImbraceAiohttpTransport  # a fifth of the CPU per request

            transport = ImbraceAiohttpTransport(self._limits)
        self._http = http_client or httpx.AsyncClient(
            timeout=self.timeout, limits=self._limits, transport=transport,
            verify=shared_ssl_context(),
        )
        self._sleep = sleep or asyncio.sleep

    @cached_property
    def workflows(self) -> AsyncWorkflows:
        """Async twin of `ImbraceClient.workflows`."""
        return AsyncWorkflows(self)

    async def request(self, call: Call[T]) -> T:
        """Perform one logical call: send, repeat what the retry policy allows, decode or raise."""
        request = self._build_request(self._http, call)
        outcome, attempts = await self._attempt(request), 1
        pause = self._first_pause(call, outcome)
        if pause is not None:
            await self._sleep(pause)
            retrying = AsyncRetrying(sleep=self._sleep, **self._retrying_kwargs(call))
            outcome = await retrying(self._attempt, request)
            attempts += retrying.statistics["attempt_number"]
        return self._finish(call, outcome, attempts)

    async def _attempt(self, request: httpx.Request) -> Outcome:
        """One attempt: wait at the request gate (if any), then send."""
        if self._gate is not None:
            await self._gate.aacquire()
        try:
            return await self._http.send(request)
        except httpx.TransportError as exc:
            return exc

    async def close(self) -> None:
        """Close the connection pool (only when this object created it)."""
        if self._owns_http:
            await self._http.aclose()

    @property
    def is_closed(self) -> bool:
        return self._http.is_closed

    async def __aenter__(self) -> AsyncImbraceClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()
