"""Idempotency keys: one logical trigger = one key, stable across retries and re-runs.

The key travels as the `x-prefect-imbrace-key` request header; the webhook trigger step
records request headers, so `GET /v1/flow-runs/{id}` shows it under
`steps.trigger.output.headers`. That is how a run is found although the async webhook
returns no run id (see docs/concepts/trigger-and-wait.md).
"""

from __future__ import annotations

import hashlib
import json
import threading
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

__all__ = ["KEY_HEADER", "TriggerContext", "default_key", "trigger_context"]

KEY_HEADER = "x-prefect-imbrace-key"

_counters: dict[tuple, int] = {}
_counters_lock = threading.Lock()


class TriggerContext:
    """Where a trigger happens: the key, whether it may be a repeat, and a search horizon."""

    def __init__(self, key: str, maybe_repeat: bool, search_from: datetime):
        self.key = key
        self.maybe_repeat = maybe_repeat
        self.search_from = search_from


def _digest(*parts: object) -> str:
    raw = "|".join(str(p) for p in parts)
    # surrogatepass: a malformed argument (lone surrogate) must reach the client's argument
    # checks, which name it, instead of failing here with a UnicodeEncodeError
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()[:32]


_task_run_keys: dict[str, str] = {}


def _payload_digest(payload: Any) -> str:
    try:
        return _digest(json.dumps(payload, sort_keys=True, default=str))
    except (TypeError, ValueError):
        return _digest(repr(payload))


def _derived_key(flow_run: Any, task_ctx: Any, what: str) -> str:
    """digest(base, what, i): `base` names the calling task run in a way a re-run repeats,
    `i` counts identical triggers made earlier by that same caller in this attempt.

    Prefect's own dynamic keys keep counting across in-process flow retries, so `base` is
    built from what a retry or re-run repeats: flow run id, task key, task parameters and the
    number of identical task calls before it in this flow-run attempt. `base` is cached per
    task run, so a task retry keeps it; `i` restarts with each task-run attempt.
    """
    flow_run_id, run_count = str(flow_run.id), flow_run.run_count or 0
    with _counters_lock:
        if task_ctx is None:
            base = _digest(flow_run_id, "<flow>")
            scope = (flow_run_id, run_count)
        else:
            task_run = task_ctx.task_run
            base = _task_run_keys.get(str(task_run.id))
            if base is None:
                call = _digest(task_run.task_key, _payload_digest(task_ctx.parameters))
                n = _counters.get((flow_run_id, run_count, call), 0)
                _counters[(flow_run_id, run_count, call)] = n + 1
                base = _task_run_keys[str(task_run.id)] = _digest(flow_run_id, call, n)
            scope = (str(task_run.id), task_run.run_count or 0)
        i = _counters.get((*scope, what), 0)
        _counters[(*scope, what)] = i + 1
    return _digest(base, what, i)


def default_key(flow_id: str, discriminator: str | None = None) -> TriggerContext:
    """Derive the key from the Prefect run context (see `trigger_context`)."""
    return trigger_context(flow_id, None, discriminator=discriminator)


def trigger_context(
    flow_id: str,
    idempotency_key: str | None,
    *,
    discriminator: str | None = None,
    payload: Any = None,
    lookback: timedelta = timedelta(hours=24),
) -> TriggerContext:
    """Key and search horizon for one logical trigger of `flow_id`.

    - Inside a Prefect flow run: hash(flow run id, calling task key, flow id, payload, n),
      where n counts the identical calls made earlier in this flow run attempt. A task retry
      reuses the key of its task run; a retry or re-run of the flow run makes the same calls
      again, so they get the same keys.
    - Outside Prefect: a random key, unless `idempotency_key` is given.

    `maybe_repeat` says whether an earlier attempt may already have sent this trigger (task
    run_count > 1, flow run run_count > 1, or an explicit key): only then is the engine
    searched before sending.
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
    if flow_run is not None and (flow_run.run_count or 0) > 1:
        maybe_repeat = True
    if task_ctx is not None and (task_ctx.task_run.run_count or 0) > 1:
        maybe_repeat = True

    if idempotency_key is not None:
        key = idempotency_key
    elif flow_run is not None:
        what = _digest(flow_id, discriminator, _payload_digest(payload))
        key = _derived_key(flow_run, task_ctx, what)
    else:
        key = uuid.uuid4().hex
    if not key or len(key) > 200 or any(c in key for c in "\r\n"):
        from prefect_imbrace.exceptions import ImbraceConfigurationError

        raise ImbraceConfigurationError(
            "idempotency_key must be a non-empty single-line string of at most 200 characters."
        )
    return TriggerContext(key=key, maybe_repeat=maybe_repeat, search_from=search_from)
