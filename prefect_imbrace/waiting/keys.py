"""Idempotency keys: one logical trigger = one key, stable across retries and re-runs.

The key travels as the `x-prefect-imbrace-key` request header; the webhook trigger step
records request headers, so `GET /v1/flow-runs/{id}` shows it under
`steps.trigger.output.headers`. That is how a run is found although the async webhook
returns no run id (see docs/concepts/trigger-and-wait.md).
"""

from __future__ import annotations

import hashlib
import threading
import uuid
from datetime import datetime, timedelta, timezone

__all__ = ["KEY_HEADER", "TriggerContext", "default_key", "trigger_context"]

KEY_HEADER = "x-prefect-imbrace-key"

_counters: dict[tuple[str, int, str], int] = {}
_counters_lock = threading.Lock()


class TriggerContext:
    """Where a trigger happens: the key, whether it may be a repeat, and a search horizon."""

    def __init__(self, key: str, maybe_repeat: bool, search_from: datetime):
        self.key = key
        self.maybe_repeat = maybe_repeat
        self.search_from = search_from


def _digest(*parts: object) -> str:
    raw = "|".join(str(p) for p in parts)
    return hashlib.sha256(raw.encode()).hexdigest()[:32]


def default_key(flow_id: str, discriminator: str | None = None) -> TriggerContext:
    """Derive the key from the Prefect run context (see `trigger_context`)."""
    return trigger_context(flow_id, None, discriminator=discriminator)


def trigger_context(
    flow_id: str,
    idempotency_key: str | None,
    *,
    discriminator: str | None = None,
    lookback: timedelta = timedelta(hours=24),
) -> TriggerContext:
    """Key and search horizon for one logical trigger of `flow_id`.

    - Inside a Prefect task run: hash(flow run id, task key, dynamic key, flow id). Task
      retries keep the same task run, and a re-run of the flow run replays the same task
      keys and dynamic keys, so the key is the same.
    - Inside a flow run but outside a task: hash(flow run id, flow id, n) where n counts the
      triggers of that flow id in this flow run attempt.
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
    elif task_ctx is not None:
        tr = task_ctx.task_run
        key = _digest(tr.flow_run_id, tr.task_key, tr.dynamic_key, flow_id, discriminator)
    elif flow_run is not None:
        counter_key = (str(flow_run.id), flow_run.run_count or 0, f"{flow_id}|{discriminator}")
        with _counters_lock:
            n = _counters.get(counter_key, 0)
            _counters[counter_key] = n + 1
        key = _digest(flow_run.id, flow_id, discriminator, n)
    else:
        key = uuid.uuid4().hex
    if not key or len(key) > 200 or any(c in key for c in "\r\n"):
        from prefect_imbrace.exceptions import ImbraceConfigurationError

        raise ImbraceConfigurationError(
            "idempotency_key must be a non-empty single-line string of at most 200 characters."
        )
    return TriggerContext(key=key, maybe_repeat=maybe_repeat, search_from=search_from)
