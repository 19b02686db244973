"""The record of one logical trigger: its key, its state and, once known, its run id.

Why: the engine tells which run a trigger produced only when that run pauses or ends, and a
process can die (or a task, an enclosing task or the flow run can be retried) at any moment
in between. The record says what already happened, so whoever picks the trigger up next
adopts the run instead of sending again.

States (`TriggerState`), in order:

    PLANNED ──send──▶ SENT ──run seen──▶ IDENTIFIED ──run ends──▶ ENDED
       │                                     ▲
       └─answer lost─▶ UNKNOWN_OUTCOME ──────┘ (its run shows its key)

- PLANNED: the intent to send. A reader cannot tell whether the send happened (the writer may
  have died in between), so it treats it like UNKNOWN_OUTCOME.
- SENT: the engine accepted the trigger (200): exactly one run carries the key; never send again.
- UNKNOWN_OUTCOME: the answer was lost: a run may exist. Send again only when the engine holds
  no run that could be ours (docs/concepts/trigger-and-wait.md).
- IDENTIFIED: the run id is known; a re-run adopts it with one GET by id, no search.
- ENDED: the run is terminal (its status is kept); a re-run reads its result by id.

Every record lives in this process (`MemoryRecords`): an in-process retry of a task, of an
enclosing task or of the flow run adopts from there with no Prefect call. What is also written
to the Prefect API, and when, is `durable.py`'s business: only where an earlier attempt may
exist, and for runs that outlive `record_after`.
"""

from __future__ import annotations

import enum
import hashlib
import re
import threading
from collections import OrderedDict
from datetime import datetime, timezone
from typing import Any

from pydantic import BaseModel, Field

__all__ = [
    "RECORD_TAG",
    "MemoryRecords",
    "TriggerRecord",
    "TriggerState",
    "claim_name",
    "journal_prefix",
    "memory_records",
    "records_in",
]

RECORD_TAG = "prefect-imbrace-trigger"
"""The tag of every Prefect Variable that holds trigger records (claims and journals)."""


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
    flow_run_id: str | None = None
    """The Prefect flow run that wrote it (None outside one): names its Variables, prunes them."""

    @property
    def may_have_sent(self) -> bool:
        """A send may have reached the engine, but nobody knows which run it made."""
        return self.state in (TriggerState.PLANNED, TriggerState.UNKNOWN_OUTCOME)


def _digest(*parts: str, length: int) -> str:
    raw = "|".join(parts).encode("utf-8", "surrogatepass")
    return hashlib.sha256(raw).hexdigest()[:length]


def _name_part(text: str) -> str:
    """Variable names allow lowercase letters, digits, '-' and '_' only."""
    return re.sub(r"[^a-z0-9_]+", "-", text.lower()).strip("-")[:40] or "x"


def journal_prefix(flow_run_id: str | None, flow_id: str | None = None) -> str:
    """`imbrace-<flow run id>-<Imbrace flow id>-`: the start of a flow run's Variable names.

    Every Variable a flow run writes starts with it, so the Variables page groups them by flow
    run and a reader (a re-run of that flow run) lists them all in one call.
    """
    head = f"imbrace-{_name_part(flow_run_id) if flow_run_id else 'outside-flow-runs'}-"
    return head + (f"{_name_part(flow_id)}-" if flow_id is not None else "")


def claim_name(record: TriggerRecord, explicit_key: bool) -> str:
    """The Variable that claims one trigger before its send (created atomically, once).

    A derived key belongs to one flow run (it digests its id), so its claim is named after the
    flow run; an explicit key (`idempotency_key=`) may be shared by many flow runs, so its claim
    is named after the Imbrace flow and the key only.
    """
    digest = _digest(record.flow_id, record.key, length=24)
    if explicit_key or record.flow_run_id is None:
        return f"imbrace-key-{_name_part(record.flow_id)}-{digest}"
    return f"{journal_prefix(record.flow_run_id, record.flow_id)}claim-{digest}"


def records_in(value: Any) -> list[TriggerRecord]:
    """The records in a Variable's value: a claim (one record) or a journal (`records`)."""
    if not isinstance(value, dict):
        return []
    items = value.get("records") if "records" in value else [value]
    out = []
    for item in items if isinstance(items, list) else []:
        try:
            out.append(TriggerRecord.model_validate(item))
        except ValueError:
            continue  # not ours, or from an incompatible version: never adopt from it
    return out



class MemoryRecords:
    """The records this process made or loaded, newest state only (thread-safe).

    Bounded (`limit`, the oldest go first): a long-lived process that fans out all day must not
    grow without end. A record evicted here is still covered where it matters: by its Prefect
    Variable when it was written there, else by a search of the engine (as after a lost answer).
    """

    def __init__(self, limit: int = 20_000) -> None:
        self._records: OrderedDict[tuple[str, str], dict[str, Any]] = OrderedDict()
        self._lock = threading.Lock()
        self._limit = limit

    def _store(self, record: TriggerRecord) -> None:
        self._records[(record.flow_id, record.key)] = record.model_dump(mode="json")
        self._records.move_to_end((record.flow_id, record.key))
        while len(self._records) > self._limit:
            self._records.popitem(last=False)

    def get(self, flow_id: str, key: str) -> TriggerRecord | None:
        with self._lock:
            data = self._records.get((flow_id, key))
        return TriggerRecord.model_validate(data) if data is not None else None

    def claim(self, record: TriggerRecord) -> bool:
        """Store `record` unless one of its key exists (then False): in-process races lose here."""
        with self._lock:
            if (record.flow_id, record.key) in self._records:
                return False
            self._store(record)
        return True

    def put(self, record: TriggerRecord) -> None:
        with self._lock:
            self._store(record)

    def clear(self) -> None:
        """Forget everything (tests that stand for a new process)."""
        with self._lock:
            self._records.clear()


memory_records = MemoryRecords()
"""The process's records."""
