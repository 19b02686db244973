"""Trigger an Imbrace flow and wait for ITS run, exactly once per logical trigger.

The async webhook answers `200 {}` and a webhook id, never a run id, and the engine shows a
run's trigger headers (our `x-prefect-imbrace-key`) only once the run pauses or ends. So each
logical trigger has a record (`exactly_once.record`: PLANNED -> SENT -> IDENTIFIED -> ENDED,
or UNKNOWN_OUTCOME after a lost answer), looked up before anything is sent or searched:

- no record, first attempt: nobody sent this trigger; claim it in this process, send; the
  record reaches the Prefect API only if the run outlives `record_after` (`durable.py`);
- no record, a possible repeat (retry, re-run, resumed flow run): the first attempt may have
  sent without writing anything durable; claim the key on the Prefect API as UNKNOWN_OUTCOME
  and follow the candidates (below); an explicit key is always claimed there before its send;
- a run id in the record: adopt that run with one GET by id;
- SENT: a run with our key exists; wait for it to show its key (no search, never a re-send);
- PLANNED / UNKNOWN_OUTCOME: a send may have made a run. Every run of the flow created since
  then that has not shown its key yet could be ours, so nothing is sent while one of them is
  undecided; a re-send happens only once every candidate showed a key that is not ours.

`ImbraceRunHandle.adopt_or_trigger()` and `.wait_until_ended()` are the two steps; everything
is written once, async; sync callers go through `run_sync` (Prefect's run-sync loop).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from prefect.logging.loggers import get_logger, get_run_logger

from prefect_imbrace import observability
from prefect_imbrace.client._params import guard_id
from prefect_imbrace.client.models.runs import RunCategory
from prefect_imbrace.exactly_once.active import (
    acancel_active_runs,
    active_runs,
    cancel_active_runs,
    current_flow_run_id,
    guard_interrupts,
    run_sync,
    track,
    untrack,
)
from prefect_imbrace.exactly_once.clients import client_kwargs_of, shared_async_client
from prefect_imbrace.exactly_once.durable import RecordStore
from prefect_imbrace.exactly_once.inbox import Inbox
from prefect_imbrace.exactly_once.keys import KEY_HEADER, trigger_context
from prefect_imbrace.exactly_once.options import WaitOptions
from prefect_imbrace.exactly_once.outcome import (
    ImbraceRunResult,
    StepSummary,
    raise_for_outcome,
    result_from_run,
)
from prefect_imbrace.exactly_once.poller import Update, Watch, get_poller, key_of
from prefect_imbrace.exactly_once.record import TriggerRecord, TriggerState
from prefect_imbrace.exceptions import (
    APIStatusError,
    ImbraceConfigurationError,
    ImbraceRunWaitTimeout,
    RequestOutcomeUnknownError,
)

if TYPE_CHECKING:
    from prefect_imbrace.credentials import ImbraceCredentials

__all__ = [
    "KEY_HEADER",
    "ImbraceRunHandle",
    "ImbraceRunResult",
    "StepSummary",
    "TriggerState",
    "WaitOptions",
    "acancel_active_runs",
    "active_runs",
    "cancel_active_runs",
    "guard_interrupts",
    "run_sync",
]

_MAX_SENDS = 3
_IDENTIFY_AFTER = 10.0
CANCELLABLE_STATUSES = ("PAUSED", "QUEUED")  # what the engine's bulk cancel accepts


def _logger() -> Any:
    try:
        return get_run_logger()
    except Exception:
        return get_logger("prefect_imbrace.exactly_once")


class ImbraceRunHandle:
    """One logical trigger of one Imbrace flow, driven through its record's states."""

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
        guard_id("flow_id", flow_id)  # before it names a record: a lone surrogate is no JSON
        self.credentials = credentials
        self.flow_id = flow_id
        self.payload = payload
        self.options = options or WaitOptions()
        self.extra_headers = dict(headers or {})
        self.retry_failed_from_step = retry_failed_from_step
        self.observe = observe
        self.artifacts = observe and artifacts
        self._quiet = quiet
        ctx = trigger_context(flow_id, idempotency_key, discriminator=discriminator, payload=payload)
        self.key = ctx.key
        self._maybe_repeat = ctx.maybe_repeat
        self._explicit_key = ctx.explicit
        self._search_from = ctx.search_from
        self.record = TriggerRecord(flow_id=flow_id, key=self.key, flow_run_id=ctx.flow_run_id)
        self.adopted = False
        """True when an earlier attempt sent the trigger and this one adopted its run."""
        self.status: str | None = None
        self.project_id: str | None = None
        self.final_run: Any = None
        self.store: RecordStore | None = None
        self._inbox = Inbox()
        self._watch: Watch | None = None
        self._flow_run_id = current_flow_run_id()
        self._kwargs = client_kwargs_of(credentials)
        self._started = time.monotonic()
        self._linked = False
        self._end_recorded = False
        self._retried = False
        self._abandoned = False
        self._cancel_attempted = False
        self._durable = False
        """Whether this record is written to the Prefect API (`durable.py` says when)."""
        self._durable_at: float | None = None
        """When (monotonic) a first attempt's record turns durable if its run still goes on."""
        self._planned_here: datetime | None = None
        """`first_planned_at` when this process planned it (our clock): the poller may narrow
        the candidates with the engine's clock bound (`poller.EngineClock`)."""

    @property
    def run_id(self) -> str | None:
        return self.record.run_id

    @property
    def state(self) -> TriggerState:
        return self.record.state

    def _note(self, msg: str, *args: Any) -> None:
        log = _logger()
        (log.debug if self._quiet else log.info)(msg, *args)

    # -- adopt or trigger -------------------------------------------------------------------
    async def adopt_or_trigger(self, shared: Any, store: RecordStore) -> None:
        """Claim the key and send, or load an earlier attempt's record and adopt its run.

        A first attempt claims in this process only (no Prefect request); a possible repeat
        (`keys.TriggerContext.maybe_repeat`) looks for a record on the Prefect API and claims
        there, atomically, before anything is sent. Returns once the trigger is sent or
        adopted; the run itself is identified by `wait_until_ended` (the engine shows our key
        only when the run pauses or ends).
        """
        self.store = store
        durable = store.durable and self._maybe_repeat
        found = await self._load(store, durable)
        if found is None:
            record = self.record
            record.first_planned_at = record.updated = datetime.now(timezone.utc)
            self._planned_here = record.first_planned_at
            record.sends = 1
            if self._maybe_repeat and not self._explicit_key:
                # a retry or re-run: the first attempt wrote nothing durable while its run
                # was short, so a send of unknown outcome since the horizon is what it may
                # have left (an explicit key is always claimed before its send: none was)
                record.state = TriggerState.UNKNOWN_OUTCOME
                record.first_planned_at = self._search_from
            elif self._maybe_repeat and not store.durable:
                # an explicit key and no Prefect API to ask: an earlier process may have sent
                record.state, record.first_planned_at = TriggerState.UNKNOWN_OUTCOME, self._search_from
            if await store.claim(record, durable=durable, explicit_key=self._explicit_key):
                self._durable = durable
                if record.state is TriggerState.PLANNED:
                    await self._send(shared, first=True)
                    return
                found = record
            else:  # an attempt racing this one claimed first: adopt what it stored
                found = await self._load(store, durable)
                if found is None:
                    raise ImbraceConfigurationError(
                        f"the trigger record of key {self.key!r} was claimed but cannot be read; "
                        "is another process deleting Prefect Variables tagged "
                        "'prefect-imbrace-trigger'?")
            self._durable = durable
        else:
            self._durable = durable or self._durable
        self.record = found
        self.adopted = found.sends > 0
        await self._resume(shared)

    async def _load(self, store: RecordStore, durable: bool) -> TriggerRecord | None:
        return await store.load(self.flow_id, self.key, flow_run_id=self.record.flow_run_id,
                                explicit_key=self._explicit_key, durable=durable)

    async def _resume(self, shared: Any) -> None:
        record = self.record
        skew = timedelta(seconds=self.options.clock_skew)
        since = record.first_planned_at - skew
        if record.run_id is not None:
            run = await shared.client.workflows.get_run(run_id=record.run_id)
            self._note("Adopted Imbrace run %s of flow %s (key %s) from its record.",
                       run.id, self.flow_id, self.key)
            self._track()
            await self._on_found(run)
            if run.is_terminal:
                if not await self._maybe_retry_failed(shared.client, run):
                    self.final_run = run
                    return
            self._register_watch(run.created or since)
        elif record.state is TriggerState.SENT:
            self._note("Imbrace flow %s was triggered before with key %s; waiting for its run.",
                       self.flow_id, self.key)
            self._register_watch(since)
        elif record.sends == 0:  # PLANNED and known not sent: the earlier send was refused
            await self._send(shared)
        else:
            _logger().info(
                "Imbrace flow %s may have been triggered before with key %s (record %s); "
                "following its runs until one shows that key, without sending again.",
                self.flow_id, self.key, record.state.value,
            )
            self._register_watch(since, doubt=True)
        self._track()

    async def _send(self, shared: Any, first: bool = False) -> None:
        """PLANNED (saved first) -> send -> SENT, or UNKNOWN_OUTCOME when the answer is lost."""
        assert self.store is not None
        record = self.record
        if not first:  # a re-send: its intent is stored (durably, if durable) before it leaves
            record.state = TriggerState.PLANNED
            record.sends += 1
            await self._save(now=True)
        self._register_watch(record.first_planned_at - timedelta(seconds=self.options.clock_skew))
        self._track()
        headers = {**self.extra_headers, KEY_HEADER: self.key}
        try:
            receipt = await shared.sends.call(shared.client.workflows.trigger_flow(
                flow_id=self.flow_id, payload=self.payload, headers=headers))
        except RequestOutcomeUnknownError:
            _logger().warning(
                "The answer to the trigger of Imbrace flow %s was lost; following its runs "
                "until one shows key %s, without sending again while any could be ours.",
                self.flow_id, self.key,
            )
            record.state = TriggerState.UNKNOWN_OUTCOME
            await self._save()
            self._watch_doubt(True)
            return
        except APIStatusError:
            record.sends -= 1  # refused with an answer: nothing was started
            await self._save()
            raise
        record.state = TriggerState.SENT
        record.webhook_id = receipt.webhook_id
        await self._save()
        if not self._durable:  # written to the Prefect API only if the run outlives record_after
            self._durable_at = time.monotonic() + self.options.record_after
        self._note("Triggered Imbrace flow %s (webhook id %s, key %s).",
                   self.flow_id, receipt.webhook_id, self.key)

    async def _maybe_retry_failed(self, client: Any, run: Any) -> bool:
        """On an adopted FAILED run with `retry_failed_from_step`: retry it; True if retried."""
        if not (self.retry_failed_from_step and self.adopted and not self._retried
                and run.category is RunCategory.FAILED):
            return False
        self._retried = True
        await client.workflows.retry_run(run_id=run.id, strategy="FROM_FAILED_STEP")
        self.status = "QUEUED"
        _logger().info("Retrying Imbrace run %s from its failed step %s (re-run of the flow run).",
                       run.id, run.failed_step_name)
        return True

    def _register_watch(self, created_after: datetime, doubt: bool = False) -> None:
        poller = get_poller()
        if self._watch is not None:
            poller.unwatch(self._watch)
        # a PAUSED limit needs the status while running; others turn eager after half their
        # timeout (10 s at most); a doubting watch reads every candidate it can
        eager = doubt or self.options.paused_timeout is not None
        self._watch = poller.watch(Watch(
            client_kwargs=self._kwargs, flow_id=self.flow_id, key=self.key,
            created_after=created_after, deliver=self._inbox.put, run_id=self.run_id,
            status=self.status, eager=eager, doubt=doubt,
            eager_at=time.monotonic() + min(_IDENTIFY_AFTER, self.options.timeout / 2),
            sent_near=created_after + timedelta(seconds=self.options.clock_skew),
            sent_here=self._planned_here is not None
            and self._planned_here == self.record.first_planned_at,
        ))

    def _watch_doubt(self, doubt: bool) -> None:
        if self._watch is not None:
            self._watch.doubt = doubt
            self._watch.eager = self._watch.eager or doubt

    def _track(self) -> None:
        """Known to hooks and guard_interrupts from the send on, even before it is identified."""
        if self._flow_run_id:
            track(self._flow_run_id, self.key, self)

    # -- wait -------------------------------------------------------------------------------
    async def _on_found(self, run: Any) -> None:
        self.record.run_id = run.id
        self.project_id = run.project_id
        self._note("Imbrace run %s of flow %s found (%s).", run.id, self.flow_id, run.status)
        if not run.is_terminal:  # found before its end: it paused, and may stay so for days
            self.record.state = TriggerState.IDENTIFIED
            self.record.status = run.status
            self._durable, self._durable_at = True, None
            await self._save()
            if self.artifacts:  # a run found only once it ended gets the summary, with the link
                self._linked = True
                await observability.arecord_run_link(self.credentials, run)
        await self._on_status(run, announced=True)

    async def _on_status(self, run: Any, announced: bool = False) -> None:
        """Every status change observed: a log line (unless `announced`) and the status hook."""
        if run.status == self.status:
            return
        self.status = run.status
        if not announced:
            self._note("Imbrace run %s is %s.", run.id, run.status)
        if self.observe:
            observability.emit_run_event(run, flow_id=self.flow_id, credentials=self.credentials,
                                         client_kwargs=self._kwargs)

    async def _handle(self, update: Update) -> None:
        if update.kind == "error":
            if not update.transient or update.errors > self.options.max_poll_errors:
                raise update.error  # type: ignore[misc]
            _logger().debug("Polling Imbrace flow %s failed (%s of %s tolerated): %s",
                            self.flow_id, update.errors, self.options.max_poll_errors, update.error)
        elif update.kind == "found" and self.run_id is None:
            await self._on_found(update.run)
        elif update.kind == "absent" and self.run_id is None:
            await self._on_absent()
        elif update.kind in ("status", "final") and self.run_id is not None:
            await self._on_status(update.run)
            if update.kind == "final":
                if self.retry_failed_from_step and self.adopted and not self._retried:
                    async with shared_async_client(self._kwargs) as shared:
                        if await self._maybe_retry_failed(shared.client, update.run):
                            self._register_watch(update.run.created or self.record.first_planned_at)
                            return
                self.final_run = update.run

    async def _on_absent(self) -> None:
        """Every run since the send shows a key that is not ours: send again (bounded)."""
        since_send = (datetime.now(timezone.utc) - self.record.updated).total_seconds()
        if since_send < self.options.correlation_grace:
            return  # the async route enqueues: give a run time to appear first
        if self.record.sends >= _MAX_SENDS:
            raise RequestOutcomeUnknownError(
                f"Triggering Imbrace flow {self.flow_id} failed {_MAX_SENDS} times without an "
                f"answer and no run with key {self.key} appeared."
            )
        _logger().warning(
            "No run of Imbrace flow %s carries key %s and none can still turn out to be ours; "
            "sending it again (attempt %s of %s).",
            self.flow_id, self.key, self.record.sends + 1, _MAX_SENDS,
        )
        async with shared_async_client(self._kwargs) as shared:
            await self._send(shared)

    def _timeout(self, why: str) -> ImbraceRunWaitTimeout:
        return ImbraceRunWaitTimeout(f"Stopped waiting: {why}.", run_id=self.run_id,
                                     flow_id=self.flow_id, status=self.status)

    async def wait_until_ended(self, until: float | None = None) -> bool:
        """Follow the run until it ends (True) or until the monotonic time `until` (False).

        Raises `ImbraceRunWaitTimeout` when the wait's own limits (`timeout`, `paused_timeout`)
        run out first; an interruption cancels the run where the engine allows it.
        """
        opts = self.options
        deadline = self._started + opts.timeout
        paused_since: float | None = None
        try:
            while self.final_run is None:
                if self._abandoned:
                    raise asyncio.CancelledError("the caller stopped waiting")
                now = time.monotonic()
                due = self._durable_at
                if due is not None and now >= due:  # the run outlived record_after
                    self._durable, self._durable_at = True, None
                    await self._save()
                    due = None
                if until is not None and now >= until:
                    return False
                if now >= deadline:
                    if self.run_id is None:
                        raise self._timeout(
                            f"no run of Imbrace flow {self.flow_id} showed key {self.key} within "
                            f"{opts.timeout:.0f}s (record {self.record.state.value}); the flow "
                            f"may filter requests (webhook auth) or its run is still running"
                        )
                    raise self._timeout(f"Imbrace run {self.run_id} is still {self.status} "
                                        f"after {opts.timeout:.0f}s")
                if self.status == "PAUSED":
                    paused_since = paused_since or now
                    if opts.paused_timeout is not None and now - paused_since >= opts.paused_timeout:
                        raise self._timeout(f"Imbrace run {self.run_id} stayed PAUSED longer "
                                            f"than {opts.paused_timeout:.0f}s")
                else:
                    paused_since = None
                limit = min(deadline, until) - now if until is not None else deadline - now
                if paused_since is not None and opts.paused_timeout is not None:
                    limit = min(limit, paused_since + opts.paused_timeout - now)
                if due is not None:
                    limit = min(limit, due - now)
                update = await self._inbox.get(max(0.01, min(limit, 5.0)))
                if update is not None:
                    await self._handle(update)
        except BaseException as exc:
            await self.on_interrupt(exc)
            raise
        await self._ended()
        return True

    async def _ended(self) -> None:
        self.close()
        run, record = self.final_run, self.record
        self._durable_at = None
        if record.state is not TriggerState.ENDED:
            # durable only if it was before: a short first attempt's run writes nothing to the
            # Prefect API, and a later attempt finds it by its key, which an ended run shows
            record.run_id, record.state, record.status = run.id, TriggerState.ENDED, run.status
            await self._save()

    async def _save(self, now: bool = False) -> None:
        """Store the record's new state: in the process, and journaled if it is durable.

        `now` writes a durable record before returning (a re-send's intent); otherwise the
        journal writes it within a second (`durable.FLUSH_EVERY`).
        """
        self.record.updated = datetime.now(timezone.utc)
        if self.store is None:
            return
        if now and self._durable:
            await self.store.persist(self.record)
        else:
            self.store.save(self.record, durable=self._durable)

    async def persist(self) -> None:
        """Write the record to the Prefect API now: the flow run suspends, or nobody may wait
        (`ImbraceFlow.trigger`); every later state is journaled too."""
        if self.store is None:
            return
        if not self._durable:
            self._durable, self._durable_at = True, None
            self.store.save(self.record, durable=True)
        await self.store.flush()

    async def result(self) -> ImbraceRunResult:
        """The ended run's typed result, or the matching error (artifacts recorded once)."""
        run = self.final_run
        if run is None:
            raise ImbraceConfigurationError("the run has not ended yet; wait_until_ended() first.")
        result = result_from_run(run, key=self.key, webhook_id=self.record.webhook_id)
        if self.observe and not self._end_recorded:
            self._end_recorded = True  # once, even if result() is asked again
            await observability.arecord_run_end(run, result, self.credentials,
                                                summary=self.artifacts, linked=self._linked)
        return raise_for_outcome(run, result)

    async def wait(self) -> ImbraceRunResult:
        """Wait for the run to end; return its result or raise the matching error."""
        await self.wait_until_ended()
        return await self.result()

    def close(self) -> None:
        if self._watch is not None:
            get_poller().unwatch(self._watch)
        if self._flow_run_id:
            untrack(self._flow_run_id, self.key, self)

    # -- interruptions ----------------------------------------------------------------------
    async def on_interrupt(self, exc: BaseException) -> None:
        """Cleanup when starting or waiting ends early; cancels the run on interrupts.

        An ordinary exception (a failed run, a wait limit) leaves the Imbrace run alone; a
        cancellation, interrupt or termination of the Prefect run cancels it (if the engine
        allows: QUEUED or PAUSED).
        """
        if not isinstance(exc, Exception) and self.final_run is None and not self._cancel_attempted:
            if self.run_id or self.record.sends:
                self._cancel_attempted = True
                await self.acancel(reason=type(exc).__name__)
        self.close()

    async def _find_for_cancel(self, client: Any) -> None:
        """One pass over the flow's runs since the first send for a run showing our key."""
        since = self.record.first_planned_at - timedelta(seconds=self.options.clock_skew)
        runs = client.workflows.iter_runs(flow_id=self.flow_id, created_after=since)
        async for run in runs.take(5000):
            if run.status in CANCELLABLE_STATUSES:
                full = await client.workflows.get_run(run_id=run.id)
                if key_of(full) == self.key:
                    self.record.run_id = run.id
                    return

    async def acancel(self, reason: str = "cancelled") -> bool:
        """Cancel the Imbrace run if the engine allows it (QUEUED or PAUSED); log what happened."""
        log = _logger()
        try:
            async with shared_async_client(self._kwargs) as shared:
                client = shared.client
                if self.run_id is None and self.record.sends and self.final_run is None:
                    await self._find_for_cancel(client)  # sent, not identified yet
                if self.run_id is None:
                    return False
                await client.workflows.cancel_runs(flow_run_ids=[self.run_id],
                                                   status=list(CANCELLABLE_STATUSES))
                run = await client.workflows.get_run(run_id=self.run_id)
        except Exception as exc:  # best effort during shutdown; never mask the original
            log.warning("Could not cancel Imbrace run %s (%s): %s", self.run_id, reason, exc)
            return False
        self.close()
        if run.category is RunCategory.CANCELLED:
            log.info("Cancelled Imbrace run %s because the Prefect run was %s.", run.id, reason)
            if self.observe:
                observability.emit_run_event(run, flow_id=self.flow_id, credentials=self.credentials,
                                         client_kwargs=self._kwargs)
            return True
        log.warning("Imbrace run %s is %s; the engine only cancels QUEUED or PAUSED runs, so it "
                    "keeps going.", run.id, run.status)
        return False

    def cancel(self, reason: str = "cancelled") -> bool:
        return run_sync(self.acancel(reason))

    def abandon(self) -> None:
        """The caller stopped waiting (an interrupt of its thread): end the wait loop."""
        self._abandoned = True
