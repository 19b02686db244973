"""Trigger records while the Prefect API does not answer (fast cases of the outage test,
tests/reliability/test_prefect_api_outage.py): a claim waits for the API instead of failing,
and a journal write cut off when the store closes is written by the close.

The API is made unreachable for real: the Prefect client talks to the test's Prefect API
through a loopback forwarder that first refuses connections (nothing listens on its port) or
holds them unanswered, then forwards.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from urllib.parse import urlsplit
from uuid import uuid4

from prefect.client.orchestration import PrefectClient
from prefect.settings import PREFECT_API_URL
from test_durable_record import stored_states

from prefect_imbrace.exactly_once.durable import PrefectRecords
from prefect_imbrace.exactly_once.record import TriggerRecord, TriggerState, claim_name
from prefect_imbrace.testing_deployments import free_port


class Forwarder:
    """A loopback TCP forwarder to the Prefect API. With `hold`, connections made before
    `release()` stay unanswered until then and are dropped unread (their requests never reach
    the API); later ones are forwarded."""

    def __init__(self, port: int, hold: bool = False):
        self.port = port
        self.held = 0
        self._open = asyncio.Event()
        if not hold:
            self._open.set()
        upstream = urlsplit(PREFECT_API_URL.value())
        self._upstream = (upstream.hostname, upstream.port)

    def release(self) -> None:
        self._open.set()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self._open.is_set():
            self.held += 1
            await self._open.wait()
            writer.close()
            return
        up_reader, up_writer = await asyncio.open_connection(*self._upstream)
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))

    @contextlib.asynccontextmanager
    async def listening(self) -> AsyncIterator[Forwarder]:
        server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        try:
            yield self
        finally:
            server.close()


def _record(flow_id: str) -> TriggerRecord:
    return TriggerRecord(flow_id=flow_id, key=f"outage-{uuid4().hex}", sends=1)


async def test_a_claim_waits_for_an_unreachable_prefect_api_then_claims():
    """Nothing listens on the API's port: a client that never connected gets no retries from
    Prefect, so the claim itself waits, sends nothing meanwhile, and claims once it answers."""
    port = free_port()
    record = _record("OutageClaimFlow0000001")
    async with PrefectClient(api=f"http://127.0.0.1:{port}/api") as client:
        records = PrefectRecords(client)
        claim = asyncio.ensure_future(records.claim(record, explicit_key=True))
        await asyncio.sleep(2.5)
        assert not claim.done(), claim  # neither claimed nor failed while nothing answers
        async with Forwarder(port).listening():
            assert await asyncio.wait_for(claim, 60) is True
            assert await records.claim(record, explicit_key=True) is False  # claimed once
            variable = await client.read_variable_by_name(claim_name(record, True))
    assert variable is not None and variable.value["key"] == record.key


async def test_a_journal_write_cut_off_by_the_close_is_written_by_the_close():
    """The journal's flush is in flight (the API holds it unanswered) when the last wait
    leaves and the store closes: the close cancels that flush and writes its entries."""
    port = free_port()
    record = _record("OutageJournalFlow00001")
    record.state = TriggerState.ENDED
    forwarder = Forwarder(port, hold=True)
    async with forwarder.listening(), PrefectClient(api=f"http://127.0.0.1:{port}/api") as client:
        records = PrefectRecords(client)
        records.journal(record)
        while forwarder.held == 0:  # the flush (within a second) is waiting for an answer
            await asyncio.sleep(0.05)
        closing = asyncio.ensure_future(records.close())
        await asyncio.sleep(0.5)
        forwarder.release()
        await asyncio.wait_for(closing, 60)
    assert [r["state"] for r in stored_states(record.flow_id)[record.key]][-1] == "ENDED"
