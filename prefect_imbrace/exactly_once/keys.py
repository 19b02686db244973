"""Idempotency keys: one logical trigger = one key, stable across every kind of retry.

The key travels as the `x-prefect-imbrace-key` request header; the webhook trigger step
records request headers, so `GET /v1/flow-runs/{id}` shows it under
`steps.trigger.output.headers` once the run pauses or ends. That is how a run is found
although the async webhook returns no run id (docs/concepts/trigger-and-wait.md).

A derived key names the call's *place* in the Prefect flow run, never a task run id that a
retry replaces:

- the flow run id (the same for in-process flow retries and for re-runs of the flow run);
- the enclosing task call, if any: the Prefect transaction of the enclosing task attempt
  (`get_transaction().get_parent()`), whose key is that task's cache key (by default its
  inputs, its source and the flow run id) and which is new for every attempt of it; an
  enclosing task with no cache key (`cache_policy=NO_CACHE`) counts in the flow run instead,
  so its retries are only covered by an explicit `idempotency_key`;
- the calling task (its key and parameters) and the Imbrace flow, payload and discriminator;
- an occurrence count of identical calls, restarted by each attempt of the enclosing scope
  (flow-run attempt, enclosing task attempt, or this task's own attempt).
"""

from __future__ import annotations

import hashlib
import json
import threading
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

from pydantic import BaseModel

__all__ = ["KEY_HEADER", "TriggerContext", "trigger_context"]

KEY_HEADER = "x-prefect-imbrace-key"
_COUNTS = "prefect-imbrace-call-counts"  # stored in the enclosing transaction (per attempt)

_counters: dict[tuple[Any, ...], int] = {}
_counters_lock = threading.Lock()
_task_run_bases: dict[str, str] = {}


class TriggerContext:
    """Where a trigger happens: the key, whether it may be a repeat, and a search horizon.

    `maybe_repeat`: an earlier attempt of this very trigger may exist (an explicit key, a
    retried task, a re-run, retried or resumed flow run); its record must then be looked up
    on the Prefect API and claimed there before anything is sent. A first attempt needs neither.
    """

    def __init__(self, key: str, maybe_repeat: bool, search_from: datetime, derived: bool,
                 flow_run_id: str | None = None):
        self.key = key
        self.maybe_repeat = maybe_repeat
        self.search_from = search_from
        self.derived = derived
        self.flow_run_id = flow_run_id

    @property
    def explicit(self) -> bool:
        """The caller chose the key (`idempotency_key=`): other flow runs may share it."""
        return not self.derived and self.maybe_repeat


def _flow_run_repeats(flow_run: Any) -> bool:
    """Whether this execution of the flow run may follow an earlier one that triggered.

    A retry or re-run enters Running again (`run_count` > 1). A flow run resumed after a
    suspension is re-executed from its start WITHOUT a new run count (Prefect counts it as the
    same run): its pause keys (`empirical_policy.pause_keys`) and our deferral tag tell.
    """
    from prefect_imbrace.exactly_once.deferral import DEFERRED_TAG

    if (flow_run.run_count or 0) > 1:
        return True
    policy = getattr(flow_run, "empirical_policy", None)
    if policy is not None and (getattr(policy, "pause_keys", None) or getattr(policy, "resuming", False)):
        return True
    return DEFERRED_TAG in (getattr(flow_run, "tags", None) or [])


def _digest(*parts: object) -> str:
    raw = "|".join(str(p) for p in parts)
    # surrogatepass: a malformed argument (lone surrogate) must reach the client's argument
    # checks, which name it, instead of failing here with a UnicodeEncodeError
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def _as_json(value: Any) -> Any:
    """Models (a credentials block among a task's parameters) as their JSON dump, secrets masked.

    Why not `str()`: a Prefect Block's repr builds its JSON schema each time (4 ms; 22 ms per
    task on a loaded machine, a tenth of a 50-task fan-out's own time in a profile).
    """
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    return str(value)


def _payload_digest(payload: Any) -> str:
    try:
        return _digest(json.dumps(payload, sort_keys=True, default=_as_json))
    except (TypeError, ValueError):
        return _digest(repr(payload))


def _next(scope: tuple[Any, ...], call: str) -> int:
    key = (*scope, call)
    with _counters_lock:
        n = _counters.get(key, 0)
        _counters[key] = n + 1
    return n


def _enclosing_transaction() -> Any:
    """The transaction of the enclosing task attempt (or a user's `with transaction()`)."""
    from prefect.transactions import get_transaction

    own = get_transaction()
    return own.get_parent() if own is not None else None


def _count_in(txn: Any, call: str) -> int:
    """Occurrence of `call` in this attempt of the enclosing scope (kept in its transaction)."""
    name = f"{_COUNTS}-{id(txn)}"  # `get` also reads parents' values: name this one's own
    with _counters_lock:
        counts = txn.get(name, None)
        if counts is None:
            counts = {}
            txn.set(name, counts)
        n: int = counts.get(call, 0)
        counts[call] = n + 1
    return n


def _task_base(flow_run: Any, task_ctx: Any) -> str:
    """The place of the calling task run: cached per task run, so its own retries keep it."""
    task_run = task_ctx.task_run
    cached = _task_run_bases.get(str(task_run.id))
    if cached is not None:
        return cached
    flow_run_id = str(flow_run.id)
    call = _digest(task_run.task_key, _payload_digest(task_ctx.parameters))
    parent = _enclosing_transaction()
    if parent is not None and parent.key is not None:
        # nested: counted within this attempt of the enclosing call, which its key names
        # (an enclosing task without a cache key falls back to counting in the flow run)
        base = _digest(flow_run_id, parent.key, call, _count_in(parent, call))
    else:
        base = _digest(flow_run_id, call, _next((flow_run_id, flow_run.run_count or 0), call))
    _task_run_bases[str(task_run.id)] = base
    return base


def _derived_key(flow_run: Any, task_ctx: Any, what: str) -> str:
    if task_ctx is None:
        base = _digest(str(flow_run.id), "<flow>")
        scope: tuple[Any, ...] = (str(flow_run.id), flow_run.run_count or 0)
    else:
        base = _task_base(flow_run, task_ctx)
        scope = (str(task_ctx.task_run.id), task_ctx.task_run.run_count or 0)
    return _digest(base, what, _next(scope, what))


def trigger_context(
    flow_id: str,
    idempotency_key: str | None,
    *,
    discriminator: str | None = None,
    payload: Any = None,
    lookback: timedelta = timedelta(hours=24),
) -> TriggerContext:
    """Key and search horizon for one logical trigger of `flow_id`.

    Inside a Prefect flow run the key is derived (see the module docstring); outside, it is
    random unless `idempotency_key` is given. `maybe_repeat` says whether an earlier attempt
    of this trigger may exist (explicit keys, retries, re-runs, resumed flow runs).
    """
    from prefect.context import FlowRunContext, TaskRunContext

    now = datetime.now(timezone.utc)
    task_ctx = TaskRunContext.get()
    flow_ctx = FlowRunContext.get()
    flow_run = flow_ctx.flow_run if flow_ctx else None
    search_from = now - lookback
    if flow_run is not None:
        started = flow_run.start_time or flow_run.created or now
        search_from = min(search_from if idempotency_key else started, started)
    maybe_repeat = idempotency_key is not None
    if flow_run is not None and _flow_run_repeats(flow_run):
        maybe_repeat = True
    if task_ctx is not None and (task_ctx.task_run.run_count or 0) > 1:
        maybe_repeat = True

    derived = False
    if idempotency_key is not None:
        key = idempotency_key
    elif flow_run is not None:
        what = _digest(flow_id, discriminator, _payload_digest(payload))
        key = _derived_key(flow_run, task_ctx, what)
        derived = True
    else:
        key = uuid.uuid4().hex
    if not key or len(key) > 200 or any(c in key for c in "\r\n"):
        from prefect_imbrace.exceptions import ImbraceConfigurationError

        raise ImbraceConfigurationError(
            "idempotency_key must be a non-empty single-line string of at most 200 characters."
        )
    return TriggerContext(key, maybe_repeat, search_from, derived,
                          str(flow_run.id) if flow_run is not None else None)
