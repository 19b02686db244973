"""The Imbrace runs each Prefect flow run is waiting for, and cancelling them on interrupts.

Hooks (`on_cancellation`, `on_crashed`) and `guard_interrupts` need to know which triggers this
process sent or adopted for a flow run and which have not ended, even before their runs are
identified; a handle registers itself from its send on and leaves when it ends or is cancelled.
"""

from __future__ import annotations

import threading
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar, cast

__all__ = [
    "acancel_active_runs",
    "active_runs",
    "cancel_active_runs",
    "current_flow_run_id",
    "guard_interrupts",
    "run_sync",
    "track",
    "untrack",
]

_active: dict[str, dict[str, Any]] = {}
_active_lock = threading.Lock()

T = TypeVar("T")


def current_flow_run_id() -> str | None:
    from prefect.context import FlowRunContext

    ctx = FlowRunContext.get()
    return str(ctx.flow_run.id) if ctx and ctx.flow_run else None


def active_runs(flow_run_id: str) -> list[Any]:
    """The unfinished `ImbraceRunHandle`s this process holds for a Prefect flow run."""
    with _active_lock:
        return list(_active.get(str(flow_run_id), {}).values())


def track(flow_run_id: str, key: str, handle: Any) -> None:
    with _active_lock:
        _active.setdefault(flow_run_id, {})[key] = handle


def untrack(flow_run_id: str, key: str, handle: Any) -> None:
    with _active_lock:
        runs = _active.get(flow_run_id, {})
        if runs.get(key) is handle:
            runs.pop(key, None)
        if not runs:
            _active.pop(flow_run_id, None)


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine from sync code on Prefect's run-sync loop (context preserved)."""
    from prefect.utilities.asyncutils import run_coro_as_sync

    return cast(T, run_coro_as_sync(coro))


@contextmanager
def guard_interrupts() -> Iterator[None]:
    """Cancel the Imbrace runs started inside this block if the thread is interrupted.

    Sync callers wait through Prefect's run-sync loop; an interrupt of the calling thread
    (Ctrl-C, Prefect's termination signal on cancellation) does not reach that coroutine, so
    the runs it started are cancelled here (where the engine allows: QUEUED, PAUSED).
    """
    flow_run_id = current_flow_run_id() or ""
    before = {id(h) for h in active_runs(flow_run_id)}
    try:
        yield
    except BaseException as exc:
        if not isinstance(exc, Exception):
            for handle in active_runs(flow_run_id):
                if id(handle) not in before:
                    handle.abandon()
                    handle.cancel(type(exc).__name__)
        raise


async def acancel_active_runs(flow_run_id: str, reason: str) -> int:
    """Cancel every unfinished Imbrace run this process started for `flow_run_id`."""
    cancelled = 0
    for handle in active_runs(flow_run_id):
        cancelled += bool(await handle.acancel(reason))
    return cancelled


def cancel_active_runs(flow_run_id: str, reason: str) -> int:
    return run_sync(acancel_active_runs(flow_run_id, reason))
