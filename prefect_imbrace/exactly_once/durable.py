"""Trigger records on the Prefect API: written only where they buy safety, batched, bounded.

Why not every trigger: Prefect Variables have no expiry, are meant for rare writes, and the
Prefect server serialises their creation (about 25 ms of its CPU each on these machines). A
record on the Prefect API protects against what this process cannot see, so it is written:

- **before the send, as a claim**, only when an earlier attempt may exist (`maybe_repeat`:
  an explicit `idempotency_key`, a re-run or retried flow run, a retried task, a flow run
  that was suspended): the claim is created atomically, so two racing attempts cannot both
  send;
- **after the send, in the flow run's journal**, for a run that outlives `record_after`
  (default 10 s) and for every later state of a claimed trigger: a crash mid-wait then adopts
  the run instead of searching for it. Journal entries are batched: one Variable per flush
  (each second at most) per Prefect flow run and Imbrace flow, up to Prefect's 5,000-character
  value limit;
- **at once** when a flow run suspends (`defer_after`) or `ImbraceFlow.trigger()` returns
  before any wait.

The common case, the first attempt of a trigger whose run ends within `record_after`, writes
nothing here: its record lives in the process (`record.memory_records`), and a later attempt
in another process finds the run by its key, which an ended run shows at once.

Names (`record.journal_prefix`): `imbrace-<flow run id>-<Imbrace flow id>-<n>` for journals,
`...-claim-<digest>` for claims of derived keys, `imbrace-key-<flow id>-<digest>` for claims
of explicit keys; all tagged `prefect-imbrace-trigger`. `pruning` removes them once their flow
run has been final for `record_retention`.

Every call into Prefect's client from here goes through the event loop's gate
(`prefect_api.prefect_slots`), so no more than a few of ours wait in its 16-connection pool.

**An unreachable Prefect API** (down, restarting) never lets a possible repeat send unclaimed
and never fails it at once: claims, the reads before them and a re-send's intent are tried
again until the API answers (`until_answered`, up to `API_PATIENCE`); journal entries that
cannot be written stay pending and are written once it answers. Prefect's client retries
for about a minute at most, and a client that has not connected yet (a task on an event loop
of its own) does not retry a refused connection at all.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

from prefect.logging.loggers import get_logger

from prefect_imbrace.exactly_once.record import (
    RECORD_TAG,
    TriggerRecord,
    claim_name,
    journal_prefix,
    memory_records,
    records_in,
)
from prefect_imbrace.prefect_api import PAGE, prefect_slots, read_variables

__all__ = ["PrefectRecords", "RecordStore", "open_record_store", "until_answered"]

FLUSH_EVERY = 1.0
_VALUE_CHARS = 4500  # Prefect refuses Variable values over 5,000 characters of JSON
_READ_REUSE = 2.0  # journal reads of one flow run within this many seconds share one request
_log = get_logger("prefect_imbrace.exactly_once")
API_PATIENCE = 600.0
"""How long a claim, or the read before it, waits for an unreachable Prefect API (s)."""
_T = TypeVar("_T")


def _unanswered(exc: BaseException) -> bool:
    """The Prefect API gave no answer to act on: unreachable, cut off, or failing (5xx)."""
    import httpx

    if isinstance(exc, httpx.TransportError):
        return True
    return isinstance(exc, httpx.HTTPStatusError) and exc.response.status_code >= 500


async def until_answered(doing: str, call: Callable[[], Awaitable[_T]]) -> _T:
    """`await call()`, again while the Prefect API does not answer, for up to `API_PATIENCE`.

    For the calls a trigger cannot go on without (a claim, the record read before it, a
    re-send's intent): nothing is sent before they are answered, and failing the task instead
    would turn a restart of the Prefect server into a failed flow run. Other errors (and the
    last one, once the patience is spent) are raised.
    """
    started = time.monotonic()
    delay = 1.0
    while True:
        try:
            answer = await call()
        except Exception as exc:
            if not _unanswered(exc) or time.monotonic() + delay > started + API_PATIENCE:
                raise
            first = delay == 1.0  # one warning per call; its later tries at DEBUG
            (_log.warning if first else _log.debug)(
                "The Prefect API did not answer while %s (%s: %s); nothing is sent before it "
                "does. Trying again in %.0f s.", doing, type(exc).__name__, exc, delay)
            await asyncio.sleep(delay)
            delay = min(2 * delay, 15.0)
            continue
        if delay > 1.0:
            _log.info("The Prefect API answered again after %.0f s (%s).",
                      time.monotonic() - started, doing)
        return answer


def _newest(records: list[TriggerRecord]) -> TriggerRecord | None:
    return max(records, key=lambda r: (r.updated, r.sends), default=None)


class PrefectRecords:
    """Claims, journal and reads on one event loop's Prefect client, made on first use.

    Why on first use: a process whose triggers are first attempts of short runs (a fleet of
    deployment flow runs) writes nothing, and a Prefect client costs an SSL context (about
    50 ms of CPU) and a connection pool of its own. The first process write also prunes
    (`pruning.prune_soon`).
    """

    def __init__(self, client: Any = None) -> None:
        """`client`: a Prefect client to use (its owner enters and closes it); else one is
        made on first use and closed by `close`."""
        self._client: Any = client
        self._owns_client = client is None
        self._opening: asyncio.Lock | None = None
        self._pending: dict[tuple[str, str], TriggerRecord] = {}
        self._flusher: asyncio.Task[None] | None = None
        self._flushed = asyncio.Event()
        self._reads: dict[str, tuple[float, asyncio.Task[list[TriggerRecord]]]] = {}
        self._seq = 0

    async def api(self) -> Any:
        """The loop's Prefect client (entered on first use; `close` exits it)."""
        if self._client is None:
            self._opening = self._opening or asyncio.Lock()
            async with self._opening:
                if self._client is None:
                    from prefect.client.orchestration import get_client

                    client = get_client()
                    await client.__aenter__()
                    self._client = client
        return self._client

    def _wrote(self) -> None:
        from prefect_imbrace.exactly_once.pruning import prune_soon

        prune_soon(open_record_store)

    # -- claims ------------------------------------------------------------------------------
    async def claim(self, record: TriggerRecord, explicit_key: bool) -> bool:
        """Create the claim Variable; False when it exists (an earlier or racing attempt)."""
        from prefect.client.schemas.actions import VariableCreate
        from prefect.exceptions import ObjectAlreadyExists

        create = VariableCreate(name=claim_name(record, explicit_key),
                                value=record.model_dump(mode="json"), tags=[RECORD_TAG])
        client = await self.api()
        self._wrote()

        async def create_claim() -> None:
            async with prefect_slots():
                await client.create_variable(create)

        try:
            # a create cut off mid-flight and tried again may find its own claim: that reads
            # as a racing attempt's, which is followed without sending (never a duplicate)
            await until_answered(f"claiming key {record.key!r}", create_claim)
        except ObjectAlreadyExists:
            return False
        return True

    async def load(self, flow_id: str, key: str, flow_run_id: str | None,
                   explicit_key: bool) -> TriggerRecord | None:
        """The newest record of the key: its claim, then the journal of the flow run(s) that wrote it."""
        return await until_answered(f"reading the record of key {key!r}", lambda: self._load(
            flow_id, key, flow_run_id, explicit_key))

    async def _load(self, flow_id: str, key: str, flow_run_id: str | None,
                    explicit_key: bool) -> TriggerRecord | None:
        probe = TriggerRecord(flow_id=flow_id, key=key, flow_run_id=flow_run_id)
        client = await self.api()
        async with prefect_slots():
            variable = await client.read_variable_by_name(claim_name(probe, explicit_key))
        found = records_in(variable.value) if variable is not None else []
        writers = {flow_run_id, *(r.flow_run_id for r in found)}
        for writer in writers:
            found += [r for r in await self._journal(writer, flow_id) if r.key == key]
        return _newest(found)

    async def _journal(self, flow_run_id: str | None, flow_id: str) -> list[TriggerRecord]:
        """Every record in the journal of one flow run and Imbrace flow (one read, shared)."""
        prefix = journal_prefix(flow_run_id, flow_id)
        now = time.monotonic()
        cached = self._reads.get(prefix)
        if cached is None or now - cached[0] > _READ_REUSE or _failed(cached[1]):
            cached = (now, asyncio.ensure_future(self._read_prefix(prefix)))
            self._reads[prefix] = cached
        return await asyncio.shield(cached[1])

    async def _read_prefix(self, prefix: str) -> list[TriggerRecord]:
        records: list[TriggerRecord] = []
        offset = 0
        while True:
            page = await read_variables(await self.api(), {"name": {"like_": f"{prefix}%"}},
                                        offset=offset)
            for variable in page:
                records += records_in(variable.value)
            if len(page) < PAGE:
                return records
            offset += PAGE

    # -- journal -----------------------------------------------------------------------------
    def journal(self, record: TriggerRecord) -> None:
        """Write `record` with the next flush (within `FLUSH_EVERY`); the newest state wins."""
        self._pending[(record.flow_id, record.key)] = record.model_copy()
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.ensure_future(self._flush_soon())

    async def _flush_soon(self) -> None:
        """Flush within `FLUSH_EVERY`; while the Prefect API does not answer, keep the entries
        and try again (every 15 s at most) until it does or the store closes."""
        delay = FLUSH_EVERY
        while True:
            await asyncio.sleep(delay)
            try:
                await self.flush()
                return
            except Exception as exc:  # noqa: BLE001 - kept in _pending, written by a later try
                delay = min(2 * delay, 15.0)
                _log.warning("Could not write %s trigger record(s) to the Prefect API (%s: %s); "
                             "they are kept and written again in %.0f s.", len(self._pending),
                             type(exc).__name__, exc, delay)

    async def flush(self) -> None:
        """Write every pending entry now (one Variable per flow run, Imbrace flow and 4.5 kB)."""
        while self._pending:
            batch, self._pending = self._pending, {}
            groups: dict[str, list[TriggerRecord]] = {}
            for record in batch.values():
                groups.setdefault(journal_prefix(record.flow_run_id, record.flow_id), []).append(record)
            try:
                await asyncio.gather(*(self._write(prefix, chunk)
                                       for prefix, records in groups.items()
                                       for chunk in _chunks(records)))
            except BaseException:  # failed, or cancelled mid-write (close() stops the flusher)
                for record in batch.values():  # kept for the next attempt, unless newer came
                    self._pending.setdefault((record.flow_id, record.key), record)
                raise

    async def _write(self, prefix: str, records: list[TriggerRecord]) -> None:
        from prefect.client.schemas.actions import VariableCreate
        from prefect.exceptions import ObjectAlreadyExists

        value = {"records": [r.model_dump(mode="json") for r in records]}
        client = await self.api()
        self._wrote()
        while True:
            self._seq += 1  # names sort by time; a second writer of this flow run skips ahead
            name = f"{prefix}{int(time.time() * 1000):x}{self._seq % 1000:03d}"
            try:
                async with prefect_slots():
                    await client.create_variable(
                        VariableCreate(name=name, value=value, tags=[RECORD_TAG]))
                return
            except ObjectAlreadyExists:
                continue

    async def close(self) -> None:
        """Flush what is pending, then close the client if one was made."""
        try:
            await self._flush_at_exit()
        finally:
            if self._owns_client:
                client, self._client = self._client, None
                if client is not None:
                    await client.__aexit__(None, None, None)

    async def _flush_at_exit(self) -> None:
        """Flush what is pending (retried a few times: the API may be restarting)."""
        if self._flusher is not None and not self._flusher.done():
            self._flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._flusher
        for attempt in range(6):
            try:
                await self.flush()
                return
            except Exception as exc:  # noqa: BLE001 - reported below, never raised at exit
                if attempt == 5:
                    _log.warning("Could not write %s trigger record(s) to the Prefect API: %s. "
                                 "A re-run will search the engine for their runs instead.",
                                 len(self._pending), exc)
                    return
                await asyncio.sleep(min(8.0, 0.5 * 2**attempt))


def _failed(read: asyncio.Future[Any]) -> bool:
    """A shared read that ended without records: the next reader asks again."""
    return read.done() and (read.cancelled() or read.exception() is not None)


def _chunks(records: list[TriggerRecord]) -> list[list[TriggerRecord]]:
    chunks: list[list[TriggerRecord]] = [[]]
    size = 0
    for record in records:
        length = len(json.dumps(record.model_dump(mode="json"))) + 2
        if chunks[-1] and size + length > _VALUE_CHARS:
            chunks.append([])
            size = 0
        chunks[-1].append(record)
        size += length
    return chunks


class RecordStore:
    """The records one call sees: this process's, and the Prefect API's when there is one."""

    def __init__(self, prefect: PrefectRecords | None):
        self.prefect = prefect

    @property
    def durable(self) -> bool:
        """Whether records can outlive this process (a Prefect API to write to)."""
        return self.prefect is not None

    async def load(self, flow_id: str, key: str, *, flow_run_id: str | None,
                   explicit_key: bool, durable: bool) -> TriggerRecord | None:
        """This process's record of the key, else (with `durable`) the Prefect API's."""
        found = memory_records.get(flow_id, key)
        if found is not None or not (durable and self.prefect is not None):
            return found
        found = await self.prefect.load(flow_id, key, flow_run_id, explicit_key)
        if found is not None:
            memory_records.put(found)
        return found

    async def claim(self, record: TriggerRecord, *, durable: bool, explicit_key: bool) -> bool:
        """Claim the key before sending: in this process, and (with `durable`) on the API."""
        if not memory_records.claim(record):
            return False
        if durable and self.prefect is not None:
            return await self.prefect.claim(record, explicit_key)
        return True

    def save(self, record: TriggerRecord, *, durable: bool) -> None:
        """Remember the new state; with `durable`, journal it (written within a second)."""
        memory_records.put(record)
        if durable and self.prefect is not None:
            self.prefect.journal(record)

    async def persist(self, record: TriggerRecord) -> None:
        """Journal the state and write it now (a re-send's intent, before it leaves); while
        the Prefect API does not answer, wait for it: the send waits too."""
        self.save(record, durable=True)
        if self.prefect is not None:
            await until_answered(f"writing the intent to send key {record.key!r} again",
                                 self.prefect.flush)

    async def flush(self) -> None:
        """Write what the journal holds now (suspension, a trigger nobody may wait for)."""
        if self.prefect is not None:
            await self.prefect.flush()


def _prefect_api_available() -> bool:
    """Inside a Prefect run, or with an API URL configured (else Prefect would start one)."""
    import os

    from prefect.context import FlowRunContext, TaskRunContext

    if FlowRunContext.get() is not None or TaskRunContext.get() is not None:
        return True
    from prefect.settings import PREFECT_API_URL

    return bool(PREFECT_API_URL.value() or os.environ.get("PREFECT_API_URL"))


class _Shared:
    def __init__(self) -> None:
        self.records = PrefectRecords()
        self.users = 0


_shared: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Shared] = weakref.WeakKeyDictionary()
_shared_lock = threading.Lock()


@contextlib.asynccontextmanager
async def open_record_store() -> AsyncIterator[RecordStore]:
    """The record store for this call; one per event loop, shared by its waits.

    Opening it costs nothing: its Prefect client is made on the first durable read or write
    (`PrefectRecords.api`). The last user of a loop flushes the journal and closes the client.
    """
    if not _prefect_api_available():
        yield RecordStore(None)
        return
    loop = asyncio.get_running_loop()
    with _shared_lock:
        shared = _shared.get(loop)
        if shared is None:
            shared = _shared[loop] = _Shared()
        shared.users += 1
    try:
        yield RecordStore(shared.records)
    finally:
        with _shared_lock:
            shared.users -= 1
            last = shared.users == 0
            if last and _shared.get(loop) is shared:
                del _shared[loop]
        if last:
            await shared.records.close()
