"""The async client's default transport (aiohttp under httpx's API) reports what happened to a
request the way the retry policy needs it: a request the server read and then dropped is of
unknown outcome (never re-sent), one that never reached a server is safe to send again.

The server here is a raw TCP peer on loopback that reads one request and closes the connection
without a byte of answer: the one fault an HTTP server (Imbrace Local, uvicorn) cannot cause,
because it answers 500 to an exception before its response head.
"""

from __future__ import annotations

import asyncio
import socket

import pytest

from prefect_imbrace.client import AsyncImbraceClient
from prefect_imbrace.client._aiohttp import ImbraceAiohttpTransport
from prefect_imbrace.exceptions import APIConnectionError, RequestOutcomeUnknownError

pytestmark = pytest.mark.asyncio(loop_scope="session")


class DroppingPeer:
    """Reads each request's head and body, counts it, closes the connection: no answer."""

    def __init__(self) -> None:
        self.requests: list[bytes] = []
        self.server: asyncio.Server | None = None

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                       if line.lower().startswith(b"content-length:")), 0)
        body = await reader.readexactly(length)
        self.requests.append(head.split(b"\r\n")[0] + b" " + body)
        writer.close()

    async def __aenter__(self) -> str:
        self.server = await asyncio.start_server(self.handle, "127.0.0.1", 0)
        port = self.server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_the_default_async_transport_is_aiohttp_under_httpx():
    async with AsyncImbraceClient(api_key="api_x", gateway="http://127.0.0.1:1") as client:
        assert isinstance(client._http._transport, ImbraceAiohttpTransport)


async def test_a_trigger_the_server_read_then_dropped_is_never_sent_again():
    peer = DroppingPeer()
    async with peer as url, AsyncImbraceClient(api_key="api_x", gateway=url, max_retries=3,
                                               retry_initial_delay=0.01) as client:
        with pytest.raises(RequestOutcomeUnknownError) as caught:
            await client.workflows.trigger_flow("ZurYxBCHMoYIzudlATavb", {"n": 1})
    assert len(peer.requests) == 1  # read once, and not re-sent: it may have started a run
    assert "RemoteProtocolError" in str(caught.value)


async def test_a_get_the_server_dropped_is_retried():
    peer = DroppingPeer()
    async with peer as url, AsyncImbraceClient(api_key="api_x", gateway=url, max_retries=2,
                                               retry_initial_delay=0.01) as client:
        with pytest.raises(APIConnectionError):
            await client.workflows.get_flow("ZurYxBCHMoYIzudlATavb")
    # a read is safe to repeat: our 3 attempts, each of which aiohttp also repeats once when
    # its kept-alive connection was closed under it (RFC 9112, idempotent methods only)
    assert 3 <= len(peer.requests) <= 6


async def test_a_trigger_that_reached_no_server_is_retried_then_reported():
    url = f"http://127.0.0.1:{_closed_port()}"
    async with AsyncImbraceClient(api_key="api_x", gateway=url, max_retries=2,
                                  retry_initial_delay=0.01) as client:
        with pytest.raises(APIConnectionError) as caught:
            await client.workflows.trigger_flow("ZurYxBCHMoYIzudlATavb", {"n": 1})
    assert not isinstance(caught.value, RequestOutcomeUnknownError)
