"""Cheap per-call setup for hundreds of concurrent waits: settings, client kwargs, one client.

- Settings and client kwargs are rebuilt only when the environment (`os.environ`, public API)
  or the Prefect settings profile changed. Kept because measured: `get_settings()` costs 33 ms
  and `credentials.client_kwargs()` 40 ms per call on this 2-core machine under load (it reads
  settings several times), the fingerprint 0.5 ms; 500 concurrent waits paid ~36 s of CPU.
  Kwargs are cached per digest of (fingerprint, every field value of the credentials, secrets
  included), so credentials that differ in any field never share an entry.
- Waits on the same event loop with the same client kwargs share ONE reference-counted
  `AsyncImbraceClient` (a new one loads a CA bundle into a fresh SSL context, ~55 ms of CPU,
  ~0.9 MB of RSS), closed when the last user leaves. Credentials are compared by a digest of
  the kwargs, so no secret sits in a dict key.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import os
import threading
import time
import weakref
from collections import deque
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from prefect_imbrace.credentials import ImbraceCredentials
    from prefect_imbrace.settings import ImbraceSettings

__all__ = [
    "InFlight",
    "cached_setting",
    "cached_settings",
    "client_kwargs_of",
    "creds_digest",
    "shared_async_client",
]

T = TypeVar("T")
_lock = threading.Lock()
_settings: tuple[tuple[Any, ...], ImbraceSettings] | None = None
_kwargs: dict[str, dict[str, Any]] = {}
_KWARGS_CACHE = 64


def _env_fingerprint() -> tuple[Any, ...]:
    """What settings and client kwargs depend on: the Prefect settings profile and the environment."""
    from prefect.context import SettingsContext

    ctx = SettingsContext.get()
    return (id(ctx.settings) if ctx is not None else None), tuple(os.environ.items())


def cached_settings() -> ImbraceSettings:
    """`get_settings()`, rebuilt only when the environment or the profile changed."""
    global _settings
    fp = _env_fingerprint()
    current = _settings
    if current is not None and current[0] == fp:
        return current[1]
    from prefect_imbrace.settings import get_settings

    value = get_settings()
    _settings = (fp, value)
    return value


def cached_setting(name: str) -> Any:
    """`settings.setting(name)` on the cached settings (same `IMBRACE_<NAME>` fallback)."""
    from prefect_imbrace.settings import env_name

    value = getattr(cached_settings(), name, None)
    if value is None:
        value = os.environ.get(env_name(name)) or None
    return value


def _state_digest(credentials: Any) -> str:
    parts = []
    for name, value in sorted(vars(credentials).items()):
        getter = getattr(value, "get_secret_value", None)
        parts.append(f"{name}={getter() if callable(getter) else value!r}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def client_kwargs_of(credentials: ImbraceCredentials) -> dict[str, Any]:
    """`credentials.client_kwargs()`, cached while the block and the settings are unchanged."""
    state = hashlib.sha256(f"{_env_fingerprint()!r}|{_state_digest(credentials)}".encode()).hexdigest()
    with _lock:
        kwargs = _kwargs.get(state)
    if kwargs is not None:
        return kwargs
    kwargs = credentials.client_kwargs()
    with _lock:
        if len(_kwargs) >= _KWARGS_CACHE:
            _kwargs.clear()
        _kwargs[state] = kwargs
    return kwargs


def creds_digest(kwargs: dict[str, Any]) -> str:
    """A digest of client kwargs, so no credential sits in a dict key or a repr."""
    raw = "\n".join(f"{k}={v}" for k, v in sorted(kwargs.items()))
    return hashlib.sha256(raw.encode()).hexdigest()


class InFlight:
    """At most `limit()` calls in flight: as many as the round trip calls for, no more.

    Why: every request queued inside httpcore's connection pool costs a scan of that queue per
    assignment, and every extra connection adds to it. By Little's law, `round trip / client CPU
    per request` calls in flight keep the client busy; more only queue. The round trip is the
    fastest of the last `WINDOW` calls: a busy event loop stretches every call's wall time by
    the time it takes to get back to it, and counting that would raise the limit, stretch the
    calls further and so on, up to the ceiling. Measured on loopback (500 triggers, 2 cores):
    8 in flight 2.1 s, 16 2.3 s, 32 2.8-3.3 s, 100 3.1-4.1 s; over a 50 ms round trip the
    limit grows to 34. Used for triggers (`_Shared.sends`) and the poller's reads.
    """

    MIN, WINDOW, TRUSTED_AFTER = 8, 32, 4
    CPU_PER_REQUEST = 0.0015  # client CPU per request, measured: 1.3 to 2 ms on loopback

    def __init__(self, ceiling: int):
        self.ceiling = max(1, ceiling)
        self._samples: deque[float] = deque(maxlen=self.WINDOW)
        self._in_flight = 0
        self._waiters: deque[asyncio.Future[None]] = deque()

    @property
    def round_trip(self) -> float:
        """The fastest recent call (s), 0 before the first."""
        return min(self._samples, default=0.0)

    def limit(self) -> int:
        if len(self._samples) < self.TRUSTED_AFTER:  # the first calls also open connections
            return min(self.ceiling, self.MIN)
        wanted = math.ceil(self.round_trip / self.CPU_PER_REQUEST)
        return max(1, min(self.ceiling, max(self.MIN, wanted)))

    def observe(self, seconds: float) -> None:
        self._samples.append(seconds)

    async def call(self, awaitable: Awaitable[T]) -> T:
        """Await `awaitable` in a slot, timing it for the limit."""
        while self._in_flight >= self.limit():
            waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                await waiter
            finally:
                if waiter in self._waiters:
                    self._waiters.remove(waiter)
        self._in_flight += 1
        started = time.monotonic()
        try:
            return await awaitable
        finally:
            self.observe(time.monotonic() - started)
            self._in_flight -= 1
            free = self.limit() - self._in_flight
            while free > 0 and self._waiters:  # a woken waiter checks the limit again
                waiter = self._waiters.popleft()
                if not waiter.done():
                    waiter.set_result(None)
                    free -= 1


class _Shared:
    def __init__(self, client: Any, limit: int):
        self.client = client
        self.users = 0
        self.sends = InFlight(limit)
        """Triggers in flight (`InFlight`): hundreds queued in httpcore's pool were several
        times slower than a few in flight."""


_shared: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, _Shared]] = (
    weakref.WeakKeyDictionary()
)


@asynccontextmanager
async def shared_async_client(kwargs: dict[str, Any]) -> AsyncIterator[_Shared]:
    """The loop's shared client for these kwargs: `.client`, and `.sends` (triggers in flight)."""
    from prefect_imbrace.client import AsyncImbraceClient
    from prefect_imbrace.client._base import DEFAULT_MAX_CONNECTIONS

    loop = asyncio.get_running_loop()
    key = creds_digest(kwargs)
    with _lock:  # the mapping is shared by the loops of all threads
        per_loop = _shared.setdefault(loop, {})
    entry = per_loop.get(key)
    if entry is None:
        pool = int(kwargs.get("max_connections") or DEFAULT_MAX_CONNECTIONS)
        entry = per_loop[key] = _Shared(AsyncImbraceClient(**kwargs), pool)
    entry.users += 1
    try:
        yield entry
    finally:
        entry.users -= 1
        if entry.users == 0:
            if per_loop.get(key) is entry:
                del per_loop[key]
            await entry.client.close()
