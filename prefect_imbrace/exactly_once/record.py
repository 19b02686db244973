"""The durable record of one logical trigger: its key, its state and, once known, its run id.

Why: the engine tells which run a trigger produced only when that run pauses or ends, and a
process can die (or a task, an enclosing task or the flow run can be retried) at any moment
in between. The record says what already happened, so whoever picks the trigger up next
adopts the run instead of sending again, before it searches the engine or sends anything.

States (`TriggerState`), in order:

    PLANNED ──send──▶ SENT ──run seen──▶ IDENTIFIED ──run ends──▶ ENDED
       │                                     ▲
       └─answer lost─▶ UNKNOWN_OUTCOME ──────┘ (its run shows its key)

- PLANNED: written *before* the webhook is sent. A reader cannot tell whether the send
  happened (the writer may have died in between), so it treats it like UNKNOWN_OUTCOME.
- SENT: the engine accepted the trigger (200): exactly one run carries the key; never send again.
- UNKNOWN_OUTCOME: the answer was lost: a run may exist. Send again only when the engine holds
  no run that could be ours (docs/concepts/trigger-and-wait.md).
- IDENTIFIED: the run id is known; a re-run adopts it with one GET by id, no search.
- ENDED: the run is terminal (its status is kept); a re-run reads its result by id.

SENT and ENDED are stored only for a run that outlives 2 s (`runs._SENT_SAVED_AFTER`): a
shorter one stays PLANNED, one Variable per trigger, and a later attempt finds it by its key.

Storage: Prefect Variables on the Prefect API (`imbrace-trigger-<digest of flow id and key>`,
then one `-v<n>` per state change), so a new process on another machine that talks to the same
Prefect API finds it. Creation is atomic (the API refuses a second Variable of that name), so
two racing callers with the same key cannot both send. Outside any Prefect run and with no
`PREFECT_API_URL` set there is no API to write to: records then live in this process only
(`MemoryRecordStore`), and explicit keys fall back to searching the engine before sending.
"""

from __future__ import annotations

import asyncio
import enum
import hashlib
import os
import threading
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timezone
from typing import Any, Protocol

from pydantic import BaseModel, Field

__all__ = [
    "MemoryRecordStore",
    "RecordStore",
    "TriggerRecord",
    "TriggerState",
    "VariableRecordStore",
    "open_record_store",
    "variable_name",
]

RECORD_TAG = "prefect-imbrace-trigger"
_MAX_VERSIONS = 100


class TriggerState(str, enum.Enum):
    PLANNED = "PLANNED"
    SENT = "SENT"
    UNKNOWN_OUTCOME = "UNKNOWN_OUTCOME"
    IDENTIFIED = "IDENTIFIED"
    ENDED = "ENDED"


def _now() -> datetime:
    return datetime.now(timezone.utc)


class TriggerRecord(BaseModel):
    """What is known about one logical trigger (a few hundred bytes of JSON)."""

    flow_id: str
    key: str
    state: TriggerState = TriggerState.PLANNED
    run_id: str | None = None
    status: str | None = None
    first_planned_at: datetime = Field(default_factory=_now)
    sends: int = 0
    webhook_id: str | None = None
    updated: datetime = Field(default_factory=_now)
    version: int = 0
    """Which snapshot this is (0 = the atomic claim; see `VariableRecordStore`)."""

    @property
    def may_have_sent(self) -> bool:
        """A send may have reached the engine, but nobody knows which run it made."""
        return self.state in (TriggerState.PLANNED, TriggerState.UNKNOWN_OUTCOME)


def variable_name(flow_id: str, key: str) -> str:
    """Variable names allow lowercase letters, digits, '-' and '_': a digest fits any key."""
    digest = hashlib.sha256(f"{flow_id}|{key}".encode("utf-8", "surrogatepass")).hexdigest()
    return f"imbrace-trigger-{digest[:40]}"


class RecordStore(Protocol):
    """Where records live. `create` is atomic: False when a record of that key exists."""

    durable: bool

    async def load(self, flow_id: str, key: str) -> TriggerRecord | None: ...

    async def create(self, record: TriggerRecord) -> bool: ...

    async def save(self, record: TriggerRecord) -> None: ...


class MemoryRecordStore:
    """Records of this process only (no Prefect API to write to)."""

    durable = False

    def __init__(self) -> None:
        self._records: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()

    async def load(self, flow_id: str, key: str) -> TriggerRecord | None:
        with self._lock:
            data = self._records.get(variable_name(flow_id, key))
        return TriggerRecord.model_validate(data) if data is not None else None

    async def create(self, record: TriggerRecord) -> bool:
        name = variable_name(record.flow_id, record.key)
        with self._lock:
            if name in self._records:
                return False
            self._records[name] = record.model_dump(mode="json")
        return True

    async def save(self, record: TriggerRecord) -> None:
        record.updated = _now()
        record.version += 1
        with self._lock:
            self._records[variable_name(record.flow_id, record.key)] = record.model_dump(mode="json")


class VariableRecordStore:
    """Records as Prefect Variables, through one Prefect client (see `open_record_store`).

    Each state change *creates* a new version (`<name>-v1`, `-v2`, ...) instead of updating the
    Variable: on the Prefect server 100 creates took about 2 s however many were in flight,
    100 updates 9-12 s one at a time and 16 s with 50 at once (`prefect_test_harness`, SQLite);
    with updates a 50-task fan-out took 5x as long. A reader takes the highest version; a
    record has a handful (PLANNED, SENT, ENDED; more after re-sends).
    """

    durable = True
    _PROBE = 4  # versions read at once when loading (most records end at v2: PLANNED, SENT, ENDED)

    def __init__(self, client: Any):
        self._client = client

    async def load(self, flow_id: str, key: str) -> TriggerRecord | None:
        name = variable_name(flow_id, key)
        latest = await self._read(name)
        if latest is None:
            return None
        version = 1
        while True:
            batch = await asyncio.gather(
                *(self._read(f"{name}-v{v}") for v in range(version, version + self._PROBE))
            )
            for found in batch:
                if found is None:
                    return latest
                latest = found
            version += self._PROBE

    async def _read(self, name: str) -> TriggerRecord | None:
        variable = await self._client.read_variable_by_name(name)
        if variable is None or not isinstance(variable.value, dict):
            return None
        return TriggerRecord.model_validate(variable.value)

    async def _create(self, name: str, record: TriggerRecord) -> bool:
        from prefect.client.schemas.actions import VariableCreate
        from prefect.exceptions import ObjectAlreadyExists

        try:
            await self._client.create_variable(
                VariableCreate(name=name, value=record.model_dump(mode="json"), tags=[RECORD_TAG])
            )
        except ObjectAlreadyExists:
            return False
        return True

    async def create(self, record: TriggerRecord) -> bool:
        record.version = 0
        return await self._create(variable_name(record.flow_id, record.key), record)

    async def save(self, record: TriggerRecord) -> None:
        record.updated = _now()
        name = variable_name(record.flow_id, record.key)
        for _ in range(_MAX_VERSIONS):
            record.version += 1
            if await self._create(f"{name}-v{record.version}", record):
                return
            # another writer took this version first (an adopter racing a process believed
            # dead): ours is newer, so it goes after theirs
        raise RuntimeError(f"trigger record {name} has more than {_MAX_VERSIONS} versions")


_memory = MemoryRecordStore()


def _prefect_api_available() -> bool:
    """Inside a Prefect run, or with an API URL configured (else Prefect would start one)."""
    from prefect.context import FlowRunContext, TaskRunContext

    if FlowRunContext.get() is not None or TaskRunContext.get() is not None:
        return True
    from prefect.settings import PREFECT_API_URL

    return bool(PREFECT_API_URL.value() or os.environ.get("PREFECT_API_URL"))


class _Shared:
    def __init__(self, client: Any):
        self.client = client
        self.users = 0
        self.ready = asyncio.Event()


_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Shared] = weakref.WeakKeyDictionary()
_clients_lock = threading.Lock()


@asynccontextmanager
async def open_record_store() -> AsyncIterator[RecordStore]:
    """The record store for this call; one Prefect client per event loop, shared by its waits."""
    if not _prefect_api_available():
        yield _memory
        return
    from prefect.client.orchestration import get_client

    loop = asyncio.get_running_loop()
    with _clients_lock:
        shared = _clients.get(loop)
        fresh = shared is None
        if fresh:
            shared = _clients[loop] = _Shared(get_client())
        assert shared is not None
        shared.users += 1
    try:
        if fresh:
            await shared.client.__aenter__()
            shared.ready.set()
        else:
            await shared.ready.wait()
        yield VariableRecordStore(shared.client)
    finally:
        with _clients_lock:
            shared.users -= 1
            last = shared.users == 0
            if last and _clients.get(loop) is shared:
                del _clients[loop]
        if last:
            await shared.client.__aexit__(None, None, None)
