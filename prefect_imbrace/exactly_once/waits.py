"""The entry points of trigger-and-wait: one logical trigger, sent once and waited for.

`atrigger_and_wait` takes the wait's slots (the in-process limit, a Prefect global
concurrency limit, or one carried across a suspension), the loop's shared engine client and
the record store, drives an `ImbraceRunHandle` through them, and returns its result;
`trigger_and_wait` is its sync twin for code outside an event loop.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AsyncExitStack
from typing import TYPE_CHECKING, Any

from prefect_imbrace.exactly_once.active import guard_interrupts, run_sync
from prefect_imbrace.exactly_once.clients import shared_async_client
from prefect_imbrace.exactly_once.deferral import (
    DeferralGroup,
    carried_slot,
    check_defer_after,
    wait_deferrable,
)
from prefect_imbrace.exactly_once.durable import open_record_store
from prefect_imbrace.exactly_once.handle import ImbraceRunHandle
from prefect_imbrace.exactly_once.limits import slots
from prefect_imbrace.exactly_once.options import WaitOptions
from prefect_imbrace.exactly_once.outcome import ImbraceRunResult

if TYPE_CHECKING:
    from prefect_imbrace.credentials import ImbraceCredentials

__all__ = ["atrigger_and_wait", "trigger_and_wait"]


async def atrigger_and_wait(
    credentials: ImbraceCredentials,
    flow_id: str,
    payload: Any = None,
    *,
    idempotency_key: str | None = None,
    headers: Mapping[str, str] | None = None,
    options: WaitOptions | None = None,
    retry_failed_from_step: bool = False,
    concurrency_limit: str | None = None,
    max_concurrent: int | None = None,
    observe: bool = True,
    discriminator: str | None = None,
    artifacts: bool = True,
    quiet: bool = False,
    defer_after: float | None = None,
    defer_group: DeferralGroup | None = None,
) -> ImbraceRunResult:
    """Trigger `flow_id` once (idempotently) and wait for the run to end.

    `defer_after`: in a flow run of a deployment, suspend it if the run has not ended that
    many seconds after the trigger (prefect_imbrace.exactly_once.deferral); None waits in this process.
    """
    defer_after = check_defer_after(defer_after)
    handle = ImbraceRunHandle(
        credentials, flow_id, payload, idempotency_key=idempotency_key, headers=headers,
        options=options, retry_failed_from_step=retry_failed_from_step, observe=observe,
        discriminator=discriminator, artifacts=artifacts, quiet=quiet,
    )
    opts = handle.options
    limit_name = (concurrency_limit or getattr(credentials, "concurrency_limit", None)
                  or opts.concurrency_limit_name)
    async with AsyncExitStack() as stack:
        # a deferrable wait carries its slot across the suspension (a lease, deferral.py)
        await stack.enter_async_context(
            slots(None if defer_after else limit_name, max_concurrent or opts.trigger_concurrency))
        if defer_after:
            await stack.enter_async_context(carried_slot(limit_name, handle))
        # holding the loop's shared clients for the whole wait keeps them (and their
        # connections) alive between the sends of concurrent waits
        shared = await stack.enter_async_context(shared_async_client(handle._kwargs))
        store = await stack.enter_async_context(open_record_store())
        try:
            await handle.adopt_or_trigger(shared, store)
        except BaseException as exc:
            await handle.on_interrupt(exc)
            raise
        if defer_after is not None and await wait_deferrable([handle], defer_after, defer_group):
            return await handle.result()
        return await handle.wait()
    raise AssertionError("unreachable")  # pragma: no cover (mypy: the stack may swallow)


def trigger_and_wait(
    credentials: ImbraceCredentials, flow_id: str, payload: Any = None, **kwargs: Any
) -> ImbraceRunResult:
    """Sync twin of `atrigger_and_wait` (same keyword arguments)."""
    with guard_interrupts():
        return run_sync(atrigger_and_wait(credentials, flow_id, payload, **kwargs))
