"""Limits shared by every process that uses one `ImbraceCredentials` block.

Ten workers on one pool each running the same flow would send ten times the traffic of one
process to one Imbrace project, and an in-process limiter cannot see the others. Both limits
here live in the Prefect server as global concurrency limits, through `prefect.concurrency`:

- `ImbraceCredentials.concurrency_limit`: one slot per Imbrace run in flight, held by the
  trigger-and-wait from the trigger to the run's end (waiting/limits.py takes it);
- `ImbraceCredentials.rate_limit`: a limit with slot decay; every engine request (each retry
  too) takes one slot first. `PrefectRateLimit` is the gate the client calls, so the client
  package itself stays free of Prefect.

A 429 answer with `Retry-After` is still honoured by the client that received it (it waits
and retries, `max_retries` times); other processes learn of the pressure only through the
shared rate limit, which is why it should sit below the engine's own limit.
"""

from __future__ import annotations

from dataclasses import dataclass

from prefect_imbrace.exceptions import ImbraceConfigurationError

__all__ = ["PrefectRateLimit"]


_TRANSIENT_ATTEMPTS = 8
"""A Prefect API that answers 503 (a busy SQLite server) is retried this many times."""


def _missing(name: str) -> ImbraceConfigurationError:
    return ImbraceConfigurationError(
        f"rate_limit {name!r}: the Prefect server has no global concurrency limit of that name. "
        f"Create it with slot decay, e.g. `prefect gcl create {name} --limit 1 "
        f"--slot-decay-per-second 20` for at most 21 requests in any second."
    )


def _delay(attempt: int) -> float:
    return min(5.0, 0.5 * 2.0**attempt)


@dataclass(frozen=True)
class PrefectRateLimit:
    """A client request gate: one slot of the Prefect rate limit `name` per engine request.

    A limit that does not exist is a configuration error (not a silent "no limit"); a Prefect
    API that fails to answer is retried with backoff, since the request itself is fine.
    """

    name: str

    def acquire(self) -> None:
        import time

        from prefect.concurrency.asyncio import ConcurrencySlotAcquisitionError
        from prefect.concurrency.sync import rate_limit

        for attempt in range(_TRANSIENT_ATTEMPTS):
            try:
                rate_limit(self.name, occupy=1, strict=True)
                return
            except ConcurrencySlotAcquisitionError as exc:
                if exc.__cause__ is None:  # Prefect raises it bare when the limit is missing
                    raise _missing(self.name) from exc
                if attempt == _TRANSIENT_ATTEMPTS - 1:
                    raise
                time.sleep(_delay(attempt))

    async def aacquire(self) -> None:
        import asyncio

        from prefect.concurrency.asyncio import ConcurrencySlotAcquisitionError, rate_limit

        for attempt in range(_TRANSIENT_ATTEMPTS):
            try:
                await rate_limit(self.name, occupy=1, strict=True)
                return
            except ConcurrencySlotAcquisitionError as exc:
                if exc.__cause__ is None:
                    raise _missing(self.name) from exc
                if attempt == _TRANSIENT_ATTEMPTS - 1:
                    raise
                await asyncio.sleep(_delay(attempt))
