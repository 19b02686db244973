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


def _missing(name: str) -> ImbraceConfigurationError:
    return ImbraceConfigurationError(
        f"rate_limit {name!r}: the Prefect server has no global concurrency limit of that name. "
        f"Create it with slot decay, e.g. `prefect gcl create {name} --limit 2 "
        f"--slot-decay-per-second 20` for 20 requests per second."
    )


@dataclass(frozen=True)
class PrefectRateLimit:
    """A client request gate: one slot of the Prefect rate limit `name` per engine request."""

    name: str

    def acquire(self) -> None:
        from prefect.concurrency.asyncio import ConcurrencySlotAcquisitionError
        from prefect.concurrency.sync import rate_limit

        try:
            rate_limit(self.name, occupy=1, strict=True)
        except ConcurrencySlotAcquisitionError as exc:
            raise _missing(self.name) from exc

    async def aacquire(self) -> None:
        from prefect.concurrency.asyncio import ConcurrencySlotAcquisitionError, rate_limit

        try:
            await rate_limit(self.name, occupy=1, strict=True)
        except ConcurrencySlotAcquisitionError as exc:
            raise _missing(self.name) from exc
