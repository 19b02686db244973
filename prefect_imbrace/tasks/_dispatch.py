"""One task name that works in sync AND async Prefect flows.

Prefect 3 runs an async task called from a sync flow as an un-awaited coroutine: nothing
happens and no error is raised. Every task of this package is therefore an `ImbraceTask`: a
sync task whose async twin is `.aio`. Called inside an async flow or task (or with a running
event loop and no run context) it returns the twin's coroutine, to be awaited; anywhere else
it runs synchronously. `.submit()` and `.map()` always use the sync task, which the task
runner executes in a worker thread, so they too work from both kinds of flows.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from typing import Any

from prefect import Task, task
from prefect.cache_policies import NO_CACHE

__all__ = ["ImbraceTask", "in_async_context", "make_task"]


def in_async_context() -> bool:
    """True when the caller is an async flow/task, or async code outside any Prefect run."""
    from prefect.context import FlowRunContext, TaskRunContext

    task_ctx = TaskRunContext.get()
    if task_ctx is not None:
        return bool(task_ctx.task.isasync)
    flow_ctx = FlowRunContext.get()
    if flow_ctx is not None and flow_ctx.flow is not None:
        return bool(flow_ctx.flow.isasync)
    try:
        asyncio.get_running_loop()
        return True
    except RuntimeError:
        return False


class ImbraceTask(Task):
    """A sync Prefect task that hands over to its async twin `.aio` in async callers."""

    aio: Task

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if in_async_context():
            return self.aio(*args, **kwargs)
        return super().__call__(*args, **kwargs)

    def with_options(self, **options: Any) -> ImbraceTask:  # type: ignore[override]
        new = super().with_options(**options)
        new.__class__ = ImbraceTask
        new.aio = self.aio.with_options(**options)
        return new  # type: ignore[return-value]


def _dress(fn: Callable[..., Any], like: Callable[..., Any], name: str) -> Callable[..., Any]:
    fn.__name__ = name
    fn.__qualname__ = name
    fn.__doc__ = like.__doc__
    fn.__module__ = like.__module__
    fn.__signature__ = inspect.signature(like)  # type: ignore[attr-defined]
    fn.__annotations__ = dict(getattr(like, "__annotations__", {}))
    return fn


def make_task(
    sync_fn: Callable[..., Any],
    async_fn: Callable[..., Any],
    *,
    name: str,
    like: Callable[..., Any] | None = None,
    secret: bool = False,
    **task_options: Any,
) -> ImbraceTask:
    """Pair `sync_fn` and `async_fn` (same signature as `like`) into one `ImbraceTask`.

    Never cached (statuses and lists change; exactly-once is handled by idempotency keys);
    `secret=True` also turns result persistence off so secrets are never written to storage.
    """
    like = like or sync_fn
    public = like.__name__
    sync_fn = _dress(sync_fn, like, public)
    async_fn = _dress(async_fn, like, f"a{public}")
    options: dict[str, Any] = {"name": name, "cache_policy": NO_CACHE, **task_options}
    if secret:
        options["persist_result"] = False
    sync_task = task(**options)(sync_fn)
    async_task = task(**options)(async_fn)
    sync_task.__class__ = ImbraceTask
    sync_task.aio = async_task  # type: ignore[attr-defined]
    return sync_task  # type: ignore[return-value]
