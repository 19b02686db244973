"""Trigger an Imbrace flow and wait for ITS run, exactly once per logical trigger.

The async webhook answers `200 {}` and a webhook id, never a run id. So every trigger carries
the header `x-prefect-imbrace-key: <idempotency key>`, and the run is found by listing the
flow's recent runs and reading that header back from `steps.trigger.output.headers`
(docs/concepts/trigger-and-wait.md). The same key makes the trigger idempotent: a task retry,
a lost response or a re-run of the flow run first looks for a run carrying the key and adopts
it instead of sending again.

Everything here is written once, async; sync callers go through `run_sync` (Prefect's
run-sync loop), so a sync task in a worker thread and an async task share one poller.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from prefect.logging.loggers import get_logger, get_run_logger

from prefect_imbrace import observability
from prefect_imbrace.exceptions import (
    ImbraceConfigurationError,
    ImbraceRunWaitTimeout,
    RequestOutcomeUnknownError,
)
from prefect_imbrace.waiting.clients import cached_settings, client_kwargs_of, shared_async_client
from prefect_imbrace.waiting.inbox import Inbox
from prefect_imbrace.waiting.keys import KEY_HEADER, trigger_context
from prefect_imbrace.waiting.limits import slots
from prefect_imbrace.waiting.outcome import (
    CANCELLABLE_STATUSES,
    FAILURE_STATUSES,
    ImbraceRunResult,
    StepSummary,
    is_finished,
    raise_for_outcome,
    result_from_run,
)
from prefect_imbrace.waiting.poller import (
    Update,
    Watch,
    get_poller,
    key_of,
    trigger_recorded,
)

if TYPE_CHECKING:
    from prefect_imbrace.credentials import ImbraceCredentials

__all__ = [
    "KEY_HEADER",
    "ImbraceRunHandle",
    "ImbraceRunResult",
    "StepSummary",
    "WaitOptions",
    "active_runs",
    "atrigger_and_wait",
    "cancel_active_runs",
    "guard_interrupts",
    "run_sync",
    "trigger_and_wait",
]

_MAX_SENDS = 3
_IDENTIFY_AFTER = 10.0


def _logger():
    try:
        return get_run_logger()
    except Exception:
        return get_logger("prefect_imbrace.runs")


def _flow_run_id() -> str | None:
    from prefect.context import FlowRunContext

    ctx = FlowRunContext.get()
    return str(ctx.flow_run.id) if ctx and ctx.flow_run else None


# Imbrace runs started or adopted by each Prefect flow run and not finished yet, so hooks
# (on_cancellation / on_crashed) can cancel them.
_active: dict[str, dict[str, ImbraceRunHandle]] = {}
_active_lock = threading.Lock()


def active_runs(flow_run_id: str) -> list[ImbraceRunHandle]:
    with _active_lock:
        return list(_active.get(str(flow_run_id), {}).values())


class WaitOptions:
    """Limits of one wait; `None` values come from settings (PREFECT_INTEGRATIONS_IMBRACE_*)."""

    def __init__(
        self,
        timeout: float | None = None,
        paused_timeout: float | None = None,
        max_poll_errors: int | None = None,
        correlation_grace: float | None = None,
        clock_skew: float | None = None,
    ):
        s = cached_settings()
        self.timeout = s.wait_timeout if timeout is None else timeout
        self.paused_timeout = s.paused_timeout if paused_timeout is None else paused_timeout
        self.max_poll_errors = s.max_poll_errors if max_poll_errors is None else max_poll_errors
        self.correlation_grace = (
            s.correlation_grace if correlation_grace is None else correlation_grace
        )
        self.clock_skew = s.clock_skew if clock_skew is None else clock_skew
        if self.timeout <= 0:
            raise ImbraceConfigurationError("timeout must be a positive number of seconds.")


class ImbraceRunHandle:
    """One logical trigger of one Imbrace flow and the run it produced (or adopted)."""

    def __init__(
        self,
        credentials: ImbraceCredentials,
        flow_id: str,
        payload: Any = None,
        *,
        idempotency_key: str | None = None,
        headers: Mapping[str, str] | None = None,
        options: WaitOptions | None = None,
        retry_failed_from_step: bool = False,
        observe: bool = True,
        discriminator: str | None = None,
        artifacts: bool = True,
        quiet: bool = False,
    ):
        """`observe=False` turns off artifacts and events; `artifacts=False` only the per-run
        link and summary (a fan-out writes one table instead); `quiet` logs the routine steps
        of this run (sent, found, status) at DEBUG, for fan-outs that log a summary instead."""
        if not flow_id or not isinstance(flow_id, str):
            raise ImbraceConfigurationError("flow_id must be the id of an Imbrace flow.")
        self.credentials = credentials
        self.flow_id = flow_id
        self.payload = payload
        self.options = options or WaitOptions()
        self.extra_headers = dict(headers or {})
        self.retry_failed_from_step = retry_failed_from_step
        self.observe = observe
        self.artifacts = observe and artifacts
        log = _logger()
        self._note = log.debug if quiet else log.info
        self._linked = False
        ctx = trigger_context(
            flow_id, idempotency_key, discriminator=discriminator, payload=payload
        )
        self.key = ctx.key
        self.maybe_repeat = ctx.maybe_repeat
        self.search_from = ctx.search_from
        self.run_id: str | None = None
        self.status: str | None = None
        self.project_id: str | None = None
        self.webhook_id: str | None = None
        self.sent_at: datetime | None = None
        self.adopted = False
        self.final_run: Any = None
        self._inbox = Inbox()
        self._watch: Watch | None = None
        self._flow_run_id = _flow_run_id()
        self._kwargs = client_kwargs_of(credentials)
        self._started = time.monotonic()
        self._abandoned = False
        self._cancel_attempted = False
        self._cancel_searched = False

    # -- trigger ----------------------------------------------------------------------------
    async def start(self, identify: bool = True) -> ImbraceRunHandle:
        """Find or start the run.

        With `identify` (the default) it returns when the run id is known. Without it, it
        returns once the trigger is sent; the poller then identifies the run lazily, by
        reading a candidate only when it is terminal (one GET gives the key AND the final
        steps) or once the wait is old enough for status to matter (see `Watch.eager_at`).
        """
        log = _logger()
        skew = timedelta(seconds=self.options.clock_skew)
        async with shared_async_client(self._kwargs) as shared:
            client = shared.client
            if self.maybe_repeat:
                since = self.search_from - skew
                run, undecided = await self._search(client, since)
                if run is None and undecided:  # a queued run may still be ours: let it show
                    self._register_watch(since, eager=True)
                    if await self._await_found(self.options.correlation_grace):
                        run = await client.workflows.get_run(self.run_id)
                if run is not None:
                    await self._adopt(client, run, since)
                    return self
            for attempt in range(1, _MAX_SENDS + 1):
                created_after = datetime.now(timezone.utc) - skew
                self._register_watch(created_after, eager=identify or attempt > 1)
                self._track()
                async with shared.sends:
                    doubt = await self._send(client, attempt)
                if not doubt and not identify:
                    return self
                if doubt and self._watch is not None:
                    self._watch.eager = True  # must be found within the grace period
                if await self._await_found(None if not doubt else self.options.correlation_grace):
                    return self
                log.warning(
                    "No Imbrace run with key %s appeared %.0fs after a trigger whose answer "
                    "was lost; sending it again (attempt %s of %s).",
                    self.key, self.options.correlation_grace, attempt + 1, _MAX_SENDS,
                )
        raise RequestOutcomeUnknownError(
            f"Triggering Imbrace flow {self.flow_id} failed {_MAX_SENDS} times without an "
            f"answer and no run with key {self.key} appeared."
        )

    async def _send(self, client: Any, attempt: int) -> bool:
        """Send the webhook; True when its fate is unknown (lost response)."""
        log = _logger()
        headers = {**self.extra_headers, KEY_HEADER: self.key}
        self.sent_at = datetime.now(timezone.utc)
        try:
            receipt = await client.workflows.trigger_flow(
                self.flow_id, self.payload, headers=headers
            )
        except RequestOutcomeUnknownError:
            log.warning(
                "The answer to the trigger of Imbrace flow %s was lost; looking for run "
                "with key %s before deciding to send again.", self.flow_id, self.key,
            )
            return True
        self.webhook_id = receipt.webhook_id
        self.sent_at = receipt.sent_at or self.sent_at
        self._note(
            "Triggered Imbrace flow %s (webhook id %s, key %s).",
            self.flow_id, self.webhook_id, self.key,
        )
        return False

    async def _search(self, client: Any, since: datetime) -> tuple[Any | None, bool]:
        """One pass over the flow's runs since `since` for a run carrying our key.

        Returns (run or None, undecided): undecided is True when some run has not recorded
        its trigger step yet (still QUEUED), so it may still turn out to be ours.
        """
        poller = get_poller()
        cursor = None
        undecided = False
        for _ in range(50):
            page = await client.workflows.list_runs(
                flow_id=self.flow_id, created_after=since, limit=100, cursor=cursor
            )
            for run in page.data:
                known, key = poller.known_key(run.id)
                if not known:
                    full = await client.workflows.get_run(run.id)
                    key = key_of(full)
                    if key is not None or trigger_recorded(full):
                        poller.remember_key(run.id, key)
                    else:
                        undecided = True
                if key == self.key:
                    return run, False
            cursor = page.next
            if not cursor:
                break
        return None, undecided

    async def _adopt(self, client: Any, run: Any, since: datetime) -> None:
        self.adopted = True
        self._note(
            "Adopted Imbrace run %s of flow %s started earlier for key %s.",
            run.id, self.flow_id, self.key,
        )
        if self.run_id is None:
            await self._on_found(run)
        await self._maybe_retry_failed(client, run)
        self._register_watch(run.created or since)

    async def _maybe_retry_failed(self, client: Any, run: Any) -> None:
        if not self.retry_failed_from_step or (run.status or "").upper() not in FAILURE_STATUSES:
            return
        await client.workflows.retry_run(run.id, strategy="FROM_FAILED_STEP")
        self.status = "QUEUED"
        _logger().info(
            "Retrying Imbrace run %s from its failed step %s (re-run of the flow run).",
            run.id, getattr(run, "failed_step_name", None),
        )

    def _register_watch(self, created_after: datetime, eager: bool = True) -> None:
        poller = get_poller()
        if self._watch is not None:
            poller.unwatch(self._watch)
        # the PAUSED limit needs the status while running, so such waits identify at once;
        # others turn eager after half their timeout (10 s at most) for status events/messages
        eager = eager or self.options.paused_timeout is not None
        self._watch = poller.watch(
            Watch(
                client_kwargs=self._kwargs,
                flow_id=self.flow_id,
                key=self.key,
                created_after=created_after,
                deliver=self._inbox.put,
                run_id=self.run_id,
                status=None,
                eager=eager,
                eager_at=time.monotonic() + min(_IDENTIFY_AFTER, self.options.timeout / 2),
            )
        )

    def _track(self) -> None:
        """Known to hooks and guard_interrupts from the send on, even before it is identified."""
        if self._flow_run_id:
            with _active_lock:
                _active.setdefault(self._flow_run_id, {})[self.key] = self

    async def _await_found(self, grace: float | None) -> bool:
        deadline = time.monotonic() + (grace if grace is not None else self.options.timeout)
        while self.run_id is None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                if grace is None:
                    raise self._timeout(
                        f"no run of Imbrace flow {self.flow_id} carrying key {self.key} appeared "
                        f"within {self.options.timeout:.0f}s of its trigger (webhook id "
                        f"{self.webhook_id}); the flow may filter requests (webhook auth)"
                    )
                return False
            update = await self._inbox.get(min(remaining, 5.0))
            if update is not None:
                await self._handle(update)
        return True

    async def _on_found(self, run: Any) -> None:
        self.run_id = run.id
        self.project_id = getattr(run, "project_id", None)
        self._track()
        self._note("Imbrace run %s of flow %s found (%s).", run.id, self.flow_id, run.status)
        # a run found only once it has ended gets one artifact: the summary, with the link
        if self.artifacts and not is_finished(run):
            self._linked = True
            await observability.arecord_run_link(self.credentials, run)
        await self._on_status(run, announced=True)

    async def _on_status(self, run: Any, announced: bool = False) -> None:
        """Record a new status: a log line (unless `announced` by the caller) and an event."""
        if run.status == self.status:
            return
        self.status = run.status
        if self.run_id and run.status:
            if not announced:
                self._note("Imbrace run %s is %s.", self.run_id, run.status)
            if self.observe:
                observability.emit_run_event(run, flow_id=self.flow_id)

    # -- wait -------------------------------------------------------------------------------
    async def _handle(self, update: Update) -> None:
        if update.kind == "error":
            if not update.transient or update.errors > self.options.max_poll_errors:
                raise update.error  # type: ignore[misc]
            _logger().debug(
                "Polling Imbrace flow %s failed (%s of %s tolerated): %s",
                self.flow_id, update.errors, self.options.max_poll_errors, update.error,
            )
            return
        if update.kind == "found" and self.run_id is None:
            await self._on_found(update.run)
        elif update.kind in ("status", "final") and self.run_id is not None:
            if update.kind == "final":
                self.final_run = update.run
            await self._on_status(update.run)

    def _timeout(self, why: str) -> ImbraceRunWaitTimeout:
        return ImbraceRunWaitTimeout(
            f"Stopped waiting: {why}.", run_id=self.run_id, flow_id=self.flow_id,
            status=self.status,
        )

    async def wait(self) -> ImbraceRunResult:
        """Wait for the run to finish; return its result or raise the matching error."""
        if self.run_id is None and (self._watch is None or self.sent_at is None):
            raise ImbraceConfigurationError("start() the run before waiting for it.")
        opts = self.options
        deadline = self._started + opts.timeout
        paused_since: float | None = None
        try:
            while self.final_run is None:
                if self._abandoned:
                    raise asyncio.CancelledError("the caller stopped waiting")
                now = time.monotonic()
                if now >= deadline:
                    if self.run_id is None:
                        raise self._timeout(
                            f"no run of Imbrace flow {self.flow_id} carrying key {self.key} "
                            f"appeared within {opts.timeout:.0f}s of its trigger (webhook id "
                            f"{self.webhook_id}); the flow may filter requests (webhook auth)"
                        )
                    raise self._timeout(
                        f"Imbrace run {self.run_id} is still {self.status} after "
                        f"{opts.timeout:.0f}s"
                    )
                if self.status == "PAUSED":
                    paused_since = paused_since or now
                    if opts.paused_timeout is not None and now - paused_since >= opts.paused_timeout:
                        raise self._timeout(
                            f"Imbrace run {self.run_id} stayed PAUSED longer than "
                            f"{opts.paused_timeout:.0f}s"
                        )
                else:
                    paused_since = None
                limit = deadline - now
                if paused_since is not None and opts.paused_timeout is not None:
                    limit = min(limit, paused_since + opts.paused_timeout - now)
                update = await self._inbox.get(max(0.01, min(limit, 5.0)))
                if update is not None:
                    await self._handle(update)
        except BaseException as exc:
            await self.on_interrupt(exc)
            raise
        self.close()
        return await self._finish(self.final_run)

    async def _finish(self, run: Any) -> ImbraceRunResult:
        result = result_from_run(run, key=self.key, webhook_id=self.webhook_id)
        if self.artifacts:
            link_to = None if self._linked else self.credentials
            await observability.arecord_run_summary(run, result, link_to)
        return raise_for_outcome(run, result)

    def close(self) -> None:
        if self._watch is not None:
            get_poller().unwatch(self._watch)
        if self._flow_run_id:
            with _active_lock:
                runs = _active.get(self._flow_run_id, {})
                runs.pop(self.key, None)
                if not runs:
                    _active.pop(self._flow_run_id, None)

    async def on_interrupt(self, exc: BaseException) -> None:
        """Cleanup when starting or waiting ends early; cancels the run on interrupts.

        An ordinary exception (a failed run, a wait limit) leaves the Imbrace run alone; a
        cancellation, interrupt or termination of the Prefect run cancels it (if the engine
        allows: QUEUED or PAUSED).
        """
        if not isinstance(exc, Exception) and self.final_run is None:
            if not self._cancel_attempted and (self.run_id or self.sent_at):
                self._cancel_attempted = True
                if self.run_id is None:  # interrupted while correlating: one last look
                    await self._find_for_cancel()
                await self.acancel(reason=type(exc).__name__)
        self.close()

    async def _find_for_cancel(self) -> None:
        if self._cancel_searched:
            return
        self._cancel_searched = True
        since = (self.sent_at or datetime.now(timezone.utc)) - timedelta(
            seconds=self.options.clock_skew
        )
        try:
            async with shared_async_client(self._kwargs) as shared:
                run, _ = await self._search(shared.client, since)
        except Exception as exc:
            _logger().warning("Could not look up the run of key %s to cancel it: %s", self.key, exc)
            return
        if run is not None:
            self.run_id = run.id

    async def acancel(self, reason: str = "cancelled") -> bool:
        """Cancel the Imbrace run if the engine allows it (QUEUED or PAUSED); log what happened."""
        log = _logger()
        if self.run_id is None and self.sent_at is not None and self.final_run is None:
            await self._find_for_cancel()  # sent but not identified yet (lazy correlation)
        if self.run_id is None:
            return False
        try:
            async with shared_async_client(self._kwargs) as shared:
                await shared.client.workflows.cancel_runs(
                    flow_run_ids=[self.run_id], status=sorted(CANCELLABLE_STATUSES)
                )
                run = await shared.client.workflows.get_run(self.run_id)
        except Exception as exc:  # best effort during shutdown; never mask the original
            log.warning("Could not cancel Imbrace run %s (%s): %s", self.run_id, reason, exc)
            return False
        self.close()
        if (run.status or "").upper() in ("CANCELED", "CANCELLED"):
            log.info("Cancelled Imbrace run %s because the Prefect run was %s.", run.id, reason)
            if self.observe:
                observability.emit_run_event(run, flow_id=self.flow_id)
            return True
        log.warning(
            "Imbrace run %s is %s; the engine only cancels QUEUED or PAUSED runs, so it "
            "keeps going.", run.id, run.status,
        )
        return False

    def cancel(self, reason: str = "cancelled") -> bool:
        return run_sync(self.acancel(reason))


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
) -> ImbraceRunResult:
    """Trigger `flow_id` once (idempotently) and wait for the run to end."""
    handle = ImbraceRunHandle(
        credentials, flow_id, payload, idempotency_key=idempotency_key, headers=headers,
        options=options, retry_failed_from_step=retry_failed_from_step, observe=observe,
        discriminator=discriminator, artifacts=artifacts, quiet=quiet,
    )
    # holding the loop's shared client for the whole wait keeps it (and its connections)
    # alive between the sends of concurrent waits instead of re-opening it
    limit_name = concurrency_limit or getattr(credentials, "concurrency_limit", None)
    async with slots(limit_name, max_concurrent), shared_async_client(handle._kwargs):
        try:
            await handle.start(identify=False)
            return await handle.wait()
        except BaseException as exc:
            await handle.on_interrupt(exc)
            raise


def run_sync(coro: Any) -> Any:
    """Run a coroutine from sync code on Prefect's run-sync loop (context preserved)."""
    from prefect.utilities.asyncutils import run_coro_as_sync

    return run_coro_as_sync(coro)


@contextmanager
def guard_interrupts() -> Iterator[None]:
    """Cancel the Imbrace runs started inside this block if the thread is interrupted.

    Sync callers wait through Prefect's run-sync loop; an interrupt of the calling thread
    (Ctrl-C, Prefect's termination signal on cancellation) does not reach that coroutine, so
    the runs it started are cancelled here (where the engine allows: QUEUED, PAUSED).
    """
    flow_run_id = _flow_run_id() or ""
    before = {id(h) for h in active_runs(flow_run_id)}
    try:
        yield
    except BaseException as exc:
        if not isinstance(exc, Exception):
            for handle in active_runs(flow_run_id):
                if id(handle) not in before:
                    handle._abandoned = True
                    handle.cancel(type(exc).__name__)
        raise


def trigger_and_wait(*args: Any, **kwargs: Any) -> ImbraceRunResult:
    """Sync twin of `atrigger_and_wait`."""
    with guard_interrupts():
        return run_sync(atrigger_and_wait(*args, **kwargs))


async def acancel_active_runs(flow_run_id: str, reason: str) -> int:
    """Cancel every unfinished Imbrace run this process started for `flow_run_id`."""
    cancelled = 0
    for handle in active_runs(flow_run_id):
        cancelled += bool(await handle.acancel(reason))
    return cancelled


def cancel_active_runs(flow_run_id: str, reason: str) -> int:
    return run_sync(acancel_active_runs(flow_run_id, reason))


