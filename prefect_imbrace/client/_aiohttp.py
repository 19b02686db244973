"""The async client's default transport: aiohttp under httpx's API (`httpx-aiohttp`).

Why: the async client's CPU per request is what bounds a fan-out's watch on these machines.
Measured on loopback against Imbrace Local (1,000 GETs, 16 in flight, 2 cores): httpx's own
async transport 1.13 to 1.21 ms of client CPU per request, this one 0.24 to 0.28 ms (httpx's
blocking client on 10 threads: 0.37 to 0.45 ms). The OpenAI SDK offers the same transport.
The client's API stays httpx: requests, responses, timeouts and errors are httpx's, and a
caller who passes `transport=` or `http_client=` gets exactly that instead.

One thing is corrected on the way: `httpx-aiohttp` reports every aiohttp connection error as
`httpx.ConnectTimeout`, including a server that disconnected or reset the connection *after*
the request was written. This client re-sends a request only when it provably never reached
the server (`_base._NOT_SENT`), and a re-sent webhook starts a second run, so those errors are
reported as httpx's `RemoteProtocolError` / `ReadError` (outcome unknown) instead, both when
the request is sent and while the response body is read.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import httpx
from httpx_aiohttp import AiohttpTransport

from ._base import shared_ssl_context

__all__ = ["ImbraceAiohttpTransport"]


def _outcome_error(exc: httpx.TransportError) -> httpx.TransportError:
    """httpx's error for what really happened, judged by aiohttp's original exception."""
    cause = exc.__cause__
    if isinstance(cause, aiohttp.ClientConnectorError):  # nothing was sent
        return httpx.ConnectError(str(cause))
    if isinstance(cause, aiohttp.ConnectionTimeoutError):  # no connection (or none free) in time
        return httpx.ConnectTimeout(str(cause))
    if isinstance(cause, aiohttp.SocketTimeoutError | aiohttp.ServerTimeoutError):
        return httpx.ReadTimeout(str(cause))
    if isinstance(cause, aiohttp.ServerDisconnectedError):
        return httpx.RemoteProtocolError(str(cause) or "Server disconnected")
    if isinstance(cause, aiohttp.ClientConnectionError | aiohttp.ClientPayloadError):
        return httpx.ReadError(str(cause) or type(cause).__name__)
    return exc


class _Body(httpx.AsyncByteStream):
    """The response body, with aiohttp's errors while reading it judged as above."""

    def __init__(self, stream: httpx.AsyncByteStream):
        self._stream = stream

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._stream:
                yield chunk
        except httpx.TransportError as exc:
            raise _outcome_error(exc) from exc.__cause__

    async def aclose(self) -> None:
        await self._stream.aclose()


class ImbraceAiohttpTransport(AiohttpTransport):
    """`httpx_aiohttp.AiohttpTransport` with a session of its own (no cookie jar: httpx keeps
    cookies) and the outcome of a failed request reported as httpx reports it."""

    def __init__(self, limits: httpx.Limits):
        super().__init__(limits=limits, client=self._new_session, verify=shared_ssl_context())

    def _new_session(self) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(
            limit=self.limits.max_connections or 0,
            keepalive_timeout=self.limits.keepalive_expiry or 5.0,
            ssl=self.ssl_context,
        )
        return aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.DummyCookieJar())

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            response = await super().handle_async_request(request)
        except httpx.TransportError as exc:
            raise _outcome_error(exc) from exc.__cause__
        stream: Any = response.stream
        response.stream = _Body(stream)
        return response
