"""`WaitOptions`: the limits of one wait, each defaulting to its setting."""

from __future__ import annotations

from prefect_imbrace.exactly_once.clients import cached_settings
from prefect_imbrace.exceptions import ImbraceConfigurationError

__all__ = ["WaitOptions"]


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
        self.record_after = s.record_after
        self.trigger_concurrency = s.trigger_concurrency
        self.concurrency_limit_name = s.concurrency_limit_name
        if self.timeout <= 0:
            raise ImbraceConfigurationError("timeout must be a positive number of seconds.")
