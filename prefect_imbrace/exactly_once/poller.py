"""One process-wide poller shared by every wait, from sync tasks in threads and async tasks.

Why: hundreds of concurrent waits must not cost hundreds of GETs per tick. The poller keeps
one *lane* per (credentials, Imbrace flow) and, per tick, makes ONE paginated list call
(`flowId` + `createdAfter`) for the lane. A run is fetched by id only when it is needed, and
then usually once: a candidate is read when the listing shows it terminal, which gives its
trigger headers (correlation) and its final steps in one GET. Only *eager* watches (a lost
trigger answer, a PAUSED limit, a caller that needs the run id now, or a wait older than
`Watch.eager_at`) make the poller read candidates that are still running; the key read is
cached (a run's trigger headers never change) and the final GET follows when it ends.

The poller only observes. It hands `Update`s to each `Watch` through a thread-safe callback;
timeouts, logging, events and error budgets are decided by the waiter in its own run context.
It runs in a daemon thread with its own event loop and async clients, and stops itself when
idle. Async on purpose: the GETs of a tick (hundreds when a fan-out ends) run concurrently on
one thread, as many at a time as the round trip calls for (`clients.InFlight`: Little's law
with the client's CPU cost per read). Over a 50 ms gateway round trip 500 reads then take well under
a second instead of the 3 s a pool of 8 threads took; on loopback they stay 8 at a time,
because every extra connection adds to httpcore's per-request pool scan (docs/benchmarks.md).

Which runs can be a wait's: a run is created (engine clock) after the send that made it. The
engine's clock may differ from ours, so a watch's `created_after` carries the `clock_skew`
margin (120 s), and every ended run of the flow created since then must be read once to rule
it out: in a fleet of processes triggering one Imbrace flow, each reads the others' runs of the
last two minutes. Each listing also bounds the clock difference from below: a run the engine
lists was created before we received the listing, so `created - received_at` <= the engine's
offset from our clock (`EngineClock`). With that bound a watch that did not lose its answer
takes only runs created after `sent_near + bound - _CLOCK_MARGIN`: the runs of the last few
seconds instead of two minutes. A doubting watch (a lost answer, which may re-send on
`absent`) keeps the wide margin.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from prefect_imbrace.exactly_once.clients import InFlight, creds_digest
from prefect_imbrace.exactly_once.keys import KEY_HEADER
from prefect_imbrace.exceptions import (
    APIConnectionError,
    NotFoundError,
    RateLimitError,
    ServerError,
)

__all__ = ["Update", "Watch", "get_poller", "shutdown_poller"]

_PAGE = 100
_MAX_PAGES = 50
_KEY_CACHE = 20_000
_IDLE_EXIT = 3.0
_UNDECIDED_REREAD = 1.0
_READS_MAX = 64
_AGE_FRACTION = 0.1  # a lane ticks every tenth of its youngest wait's age (within the bounds)
_READ_BATCH_MIN = 4
"""Candidates are read in batches of twice the seeking watches (at least this), nearest to
their sends first, until every seeking watch has found its run."""
_CLOCK_MARGIN = timedelta(seconds=2)
"""Kept below the learnt bound of the engine's clock (a clock step, a run's insert delayed)."""


@dataclass
class Update:
    """What the poller saw: "found", "status", "final", "error", or "absent" (a doubting
    watch: every run created since its `created_after` shows a key, and none is ours)."""

    kind: str
    run: Any = None
    error: BaseException | None = None
    errors: int = 0
    transient: bool = True


@dataclass(eq=False)
class Watch:
    """One waiter's interest: find the run carrying `key`, then follow it to the end."""

    client_kwargs: dict[str, Any] = field(repr=False)
    flow_id: str
    key: str
    created_after: datetime
    deliver: Callable[[Update], None]
    run_id: str | None = None
    status: str | None = None
    run_created: datetime | None = None
    errors: int = 0
    closed: bool = False
    eager: bool = True
    eager_at: float = 0.0
    doubt: bool = False
    """A send may have made a run nobody identified yet: report `absent` when no run created
    since `created_after` can still turn out to be ours (every candidate showed its key)."""
    since: float = field(default_factory=time.monotonic)
    """When this waiter started watching (monotonic): its age paces its lane's ticks."""
    sent_near: datetime | None = None
    """When its trigger was first planned (our clock), before any send of its key: no run of
    its own was created before it, less the clock difference (`EngineClock`). Candidates
    created nearest to it are read first."""
    sent_here: bool = False
    """`sent_near` was read on this process's clock (the record was planned here), so the
    engine's clock bound learnt here applies to it (`earliest`)."""

    def wants_early(self, now: float) -> bool:
        """Whether its run must be identified before it ends."""
        return self.eager or now >= self.eager_at

    def earliest(self, clock: EngineClock) -> datetime:
        """The earliest creation (engine clock) its run can have: `created_after`, narrowed by
        the engine's known clock difference unless it doubts (it may re-send on `absent`)."""
        if self.run_created is not None:
            return self.run_created
        floor = clock.earliest(self.sent_near) if self.sent_here else None
        if self.doubt or floor is None:
            return self.created_after
        return max(self.created_after, floor)


class EngineClock:
    """A lower bound of the engine's clock minus ours, learnt from every listing it answers.

    A run listed was created (engine clock) before we received the listing (our clock), so
    `created - received_at` is never above the true difference; the largest seen is the bound.
    Runs of the last moments give a bound within a round trip of the truth.
    """

    def __init__(self) -> None:
        self.lower: timedelta | None = None

    def observe(self, runs: list[Any], received_at: datetime) -> None:
        for run in runs:
            created = getattr(run, "created", None)
            if created is not None:
                seen = created - received_at
                if self.lower is None or seen > self.lower:
                    self.lower = seen

    def earliest(self, sent: datetime | None) -> datetime | None:
        """The engine time before which no run made by a send at `sent` (ours) was created."""
        if sent is None or self.lower is None:
            return None
        return sent + self.lower - _CLOCK_MARGIN


@dataclass(eq=False)
class _Lane:
    client_kwargs: dict[str, Any] = field(repr=False)
    flow_id: str
    watches: list[Watch] = field(default_factory=list)
    interval: float = 0.5
    next_at: float = 0.0
    clock: EngineClock = field(default_factory=EngineClock)


_creds_key = creds_digest


def key_of(run: Any) -> str | None:
    """The idempotency key the run's trigger step saw, if any."""
    return (run.trigger_headers or {}).get(KEY_HEADER)


def trigger_recorded(run: Any) -> bool:
    """Whether the trigger step's output is in the run yet (not while QUEUED)."""
    trigger = (run.steps or {}).get("trigger")
    return trigger is not None and getattr(trigger, "output", None) is not None


def _nearest_first(runs: list[Any], seeking: list[Watch]) -> list[Any]:
    """Runs ordered by how near their creation is to a seeking watch's send (clock skew aside,
    a run is created just after the send that made it); runs with no time to compare go last."""
    sends = [w.sent_near for w in seeking if w.sent_near is not None]
    if not sends:
        return runs

    def distance(run: Any) -> float:
        if run.created is None:
            return float("inf")
        return float(min(abs((run.created - sent).total_seconds()) for sent in sends))

    return sorted(runs, key=distance)


def is_transient(exc: BaseException) -> bool:
    """Worth another poll: connection trouble, 5xx, 429."""
    return isinstance(exc, APIConnectionError | ServerError | RateLimitError)


class RunPoller:
    """The shared poller. Use `get_poller()`; `watch()` / `unwatch()` from any thread."""

    def __init__(self, poll_interval: float = 0.5, max_interval: float = 10.0):
        self.poll_interval = poll_interval
        self.max_interval = max_interval
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._lanes: dict[tuple[str, str], _Lane] = {}
        self._keys: OrderedDict[str, str | None] = OrderedDict()
        self._undecided: dict[str, float] = {}
        self._thread: threading.Thread | None = None
        self._stop = False
        self.stats = {"ticks": 0, "list_calls": 0, "get_calls": 0}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._awake: asyncio.Event | None = None
        self._reads = InFlight(_READS_MAX)
        """Reads in flight on the poller's loop; its latency also counts the list calls."""

    # -- registration -------------------------------------------------------------------
    def watch(self, watch: Watch) -> Watch:
        lane_key = (_creds_key(watch.client_kwargs), watch.flow_id)
        with self._lock:
            lane = self._lanes.get(lane_key)
            if lane is None:
                lane = self._lanes[lane_key] = _Lane(watch.client_kwargs, watch.flow_id)
            lane.watches.append(watch)
            lane.interval = self.poll_interval
            # a new run needs a moment to appear: tick soon, but not once per registration
            lane.next_at = min(lane.next_at or float("inf"), time.monotonic() + self.poll_interval)
            self._ensure_thread()
        self._wake_up()
        return watch

    def unwatch(self, watch: Watch) -> None:
        watch.closed = True
        lane_key = (_creds_key(watch.client_kwargs), watch.flow_id)
        with self._lock:
            lane = self._lanes.get(lane_key)
            if lane is not None and watch in lane.watches:
                lane.watches.remove(watch)
                if not lane.watches:
                    del self._lanes[lane_key]

    def remember_key(self, run_id: str, key: str | None) -> None:
        with self._lock:
            self._keys[run_id] = key
            while len(self._keys) > _KEY_CACHE:
                self._keys.popitem(last=False)

    def known_key(self, run_id: str) -> tuple[bool, str | None]:
        with self._lock:
            if run_id in self._keys:
                return True, self._keys[run_id]
        return False, None

    def shutdown(self) -> None:
        """Stop the thread (tests; the thread also stops by itself when idle)."""
        thread = self._thread
        self._stop = True
        self._wake_up()
        if thread is not None:
            thread.join(timeout=10)
        self._stop = False

    # -- thread -----------------------------------------------------------------------------
    def _ensure_thread(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(
                target=self._run, name="prefect-imbrace-poller", daemon=True
            )
            self._thread.start()

    def _wake_up(self) -> None:
        """From any thread: end the poller loop's current sleep."""
        self._wake.set()
        loop, awake = self._loop, self._awake
        if loop is not None and awake is not None:
            try:
                loop.call_soon_threadsafe(awake.set)
            except RuntimeError:  # the loop just closed; the thread is on its way out
                pass

    def _run(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        self._awake = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        clients: dict[str, Any] = {}
        idle_since: float | None = None
        try:
            while not self._stop:
                with self._lock:
                    lanes = list(self._lanes.values())
                now = time.monotonic()
                if not lanes:
                    idle_since = idle_since or now
                    if now - idle_since > _IDLE_EXIT:
                        with self._lock:
                            if not self._lanes:
                                self._thread = None
                                return
                    await self._sleep(0.2)
                    continue
                idle_since = None
                due = [lane for lane in lanes if lane.next_at <= now]
                if due and not self._stop:  # lanes (flows) tick side by side
                    await asyncio.gather(*(self._tick(lane, clients) for lane in due))
                next_at = min((lane.next_at for lane in lanes), default=now + 0.2)
                await self._sleep(max(0.0, min(next_at - time.monotonic(), 1.0)))
        finally:
            self._loop = self._awake = None
            for client in clients.values():
                try:
                    await client.close()
                except Exception:
                    pass

    async def _sleep(self, timeout: float) -> None:
        awake = self._awake
        assert awake is not None
        if not self._wake.is_set():  # a wake-up may have come before the loop existed
            try:
                await asyncio.wait_for(awake.wait(), timeout)
            except asyncio.TimeoutError:
                pass
        awake.clear()
        self._wake.clear()

    def _client(self, lane: _Lane, clients: dict[str, Any]) -> Any:
        key = _creds_key(lane.client_kwargs)
        if key not in clients:
            from prefect_imbrace.client import AsyncImbraceClient

            clients[key] = AsyncImbraceClient(**lane.client_kwargs)
        return clients[key]

    # -- one tick of one lane ----------------------------------------------------------------
    async def _tick(self, lane: _Lane, clients: dict[str, Any]) -> None:
        started = time.monotonic()
        watches = [w for w in list(lane.watches) if not w.closed]
        if not watches:
            lane.next_at = started + lane.interval
            return
        self.stats["ticks"] += 1
        try:
            client = self._client(lane, clients)
            since = min(w.earliest(lane.clock) for w in watches)
            runs = await self._list(client, lane.flow_id, since - timedelta(seconds=1), lane.clock)
            await self._apply(client, watches, runs, lane.clock)
            for w in watches:
                w.errors = 0
        except Exception as exc:  # delivered to each waiter, which owns the error budget
            for w in watches:
                w.errors += 1
                w.deliver(Update("error", error=exc, errors=w.errors, transient=is_transient(exc)))
        lane.interval = self._pace(watches, started)
        # fixed rate: a tick that spent its interval reading finished runs is followed at once
        # (with a short breather), not one whole interval after it ended
        lane.next_at = max(started + lane.interval, time.monotonic() + lane.interval / 5)

    def _pace(self, watches: list[Watch], now: float) -> float:
        """A tenth of the youngest wait's age, within [poll_interval, max_interval].

        Why: an end is then seen within about 5 % of the time the run has already taken (a
        1-second run at the next 0.5 s tick, an hour-long one within 10 s), and a long wait
        costs one list call per `max_interval`. A backoff that grows while nothing changes
        would instead miss the end of short runs by a whole grown interval.
        """
        youngest = min(now - w.since for w in watches)
        return min(self.max_interval, max(self.poll_interval, youngest * _AGE_FRACTION))

    async def _list(self, client: Any, flow_id: str, since: datetime, clock: EngineClock) -> list[Any]:
        runs: list[Any] = []
        cursor = None
        for _ in range(_MAX_PAGES):
            self.stats["list_calls"] += 1
            started = time.monotonic()
            page = await client.workflows.list_runs(
                flow_id=flow_id, created_after=since, limit=_PAGE, cursor=cursor
            )
            self._reads.observe(time.monotonic() - started)
            clock.observe(page.data, datetime.now(timezone.utc))
            runs.extend(page.data)
            cursor = page.next
            if not cursor:
                break
        return runs

    async def _get_many(self, client: Any, run_ids: list[str]) -> list[Any]:
        """GET runs by id, as many at a time as the round trip calls for (`InFlight`);
        None for a run that is gone."""

        async def one(run_id: str) -> Any:
            try:
                return await self._reads.call(client.workflows.get_run(run_id=run_id))
            except NotFoundError:
                return None

        self.stats["get_calls"] += len(run_ids)
        return list(await asyncio.gather(*(one(r) for r in run_ids)))

    def _learn_key(self, run_id: str, full: Any) -> str | None:
        key = key_of(full)
        if key is not None or trigger_recorded(full):
            self.remember_key(run_id, key)  # final: a run's trigger headers never change
            self._undecided.pop(run_id, None)
        else:
            self._undecided[run_id] = time.monotonic()
            if len(self._undecided) > _KEY_CACHE:
                self._undecided.clear()
        return key

    async def _correlate(self, client: Any, seeking: list[Watch], runs: list[Any],
                         clock: EngineClock) -> dict[str, Any]:
        """Match seeking watches to runs; returns the finished runs read on the way, by id."""
        now = time.monotonic()
        early = any(w.wants_early(now) for w in seeking)
        wanted: dict[str, list[Watch]] = {}
        for w in seeking:
            wanted.setdefault(w.key, []).append(w)
        earliest = min(w.earliest(clock) for w in seeking)
        known: list[tuple[Any, str | None]] = []
        to_read: list[Any] = []
        for run in sorted(runs, key=lambda r: r.created):
            if run.created is not None and run.created < earliest:
                continue
            cached, key = self.known_key(run.id)
            if cached:
                known.append((run, key))
            elif run.is_terminal or run.status == "PAUSED":  # its steps (and key) are recorded
                to_read.append(run)
            elif early:
                # a run that has not recorded its trigger yet is re-read, but not every tick
                last = self._undecided.get(run.id)
                if last is None or now - last >= _UNDECIDED_REREAD:
                    to_read.append(run)
        finished: dict[str, Any] = {}
        batch = max(_READ_BATCH_MIN, 2 * len(seeking))
        if len(to_read) > batch:
            to_read = _nearest_first(to_read, seeking)
        for start in range(0, len(to_read), batch):
            if wanted.keys() <= {key for _, key in known}:
                break  # every seeking watch's run is among those read: the rest are others'
            chunk = to_read[start:start + batch]
            for run, full in zip(chunk, await self._get_many(client, [r.id for r in chunk]), strict=True):
                if full is None:
                    continue
                known.append((full, self._learn_key(run.id, full)))
                if full.is_terminal:
                    finished[run.id] = full
        for run, key in known:
            for watch in wanted.pop(key, []) if key else []:
                watch.run_id, watch.run_created = run.id, run.created
                watch.deliver(Update("found", run=run))
            if not wanted:
                break
        for watches in wanted.values():
            for watch in watches:
                if watch.doubt and not any(
                    run.created is None or run.created >= watch.created_after
                    for run in runs if not self.known_key(run.id)[0]
                ):
                    watch.deliver(Update("absent"))
        return finished

    async def _apply(self, client: Any, watches: list[Watch], runs: list[Any], clock: EngineClock) -> None:
        seeking = [w for w in watches if w.run_id is None]
        finished = await self._correlate(client, seeking, runs, clock) if seeking else {}
        by_id = {run.id: run for run in runs}
        missing = [w.run_id for w in watches if w.run_id and not w.closed and w.run_id not in by_id]
        if missing:  # not in the listing (archived, paging quirk): ask directly
            for run in await self._get_many(client, missing):
                if run is not None:
                    by_id[run.id] = run
        ended = [
            w.run_id for w in watches
            if w.run_id and not w.closed and w.run_id not in finished
            and w.run_id in by_id and by_id[w.run_id].is_terminal
        ]
        ended = list(dict.fromkeys(ended))
        for run_id, full in zip(ended, await self._get_many(client, ended) if ended else [], strict=True):
            if full is not None:
                finished[run_id] = full
        for watch in watches:
            if watch.run_id is None or watch.closed:
                continue
            full = finished.get(watch.run_id)
            run = by_id.get(watch.run_id)
            if full is not None and full.is_terminal:
                watch.status = full.status
                watch.deliver(Update("final", run=full))
                watch.closed = True
            elif run is not None and run.status != watch.status:
                watch.status = run.status
                watch.deliver(Update("status", run=run))


_poller: RunPoller | None = None
_poller_lock = threading.Lock()


def get_poller() -> RunPoller:
    """The process-wide poller (created on first use with the current settings)."""
    global _poller
    with _poller_lock:
        if _poller is None:
            from prefect_imbrace.settings import get_settings

            s = get_settings()  # once per process
            _poller = RunPoller(s.poll_interval, s.max_poll_interval)
        return _poller


def shutdown_poller() -> None:
    """Stop the shared poller's thread, if any."""
    with _poller_lock:
        poller = _poller
    if poller is not None:
        poller.shutdown()


__all__ += ["RunPoller", "is_transient", "key_of", "trigger_recorded"]
