"""What both clients' transports share (with `_client.py`, the only modules that touch httpx).

`Call` (one logical request, no I/O), configuration, auth headers, request building, the
retry policy (the first attempt's decision, then tenacity's), and the translation of every
transport failure or error status into `prefect_imbrace.exceptions`. `_client.py` owns the pooled httpx clients and the
blocking / awaited send loops.

The retry policy is three pure functions, testable as a table:

* `_should_retry(method, status_or_exception, headers)`: GET/HEAD/PUT/DELETE/OPTIONS are
  repeated on 429, 5xx, timeouts and connection errors. A POST is repeated only when the
  server provably did not process it: 429 or 503 answered before processing, or a failure
  before the request left (connect error/timeout, pool timeout). A POST whose fate is unknown
  (read timeout, connection dropped after sending) is never re-sent and raises
  `RequestOutcomeUnknownError`; re-sending a webhook would start a second run.
* `parse_retry_after(headers)`: `retry-after-ms`, `retry-after` seconds or HTTP date.
* `_retry_wait(attempt, headers)`: the server's hint (capped at 60 s) or exponential backoff
  with jitter.
"""

from __future__ import annotations

import email.utils
import functools
import json as jsonlib
import logging
import os
import random
import ssl
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any, Generic, Protocol, TypedDict, TypeVar

import httpx
from tenacity import RetryCallState, stop_after_attempt
from tenacity.retry import retry_base

from ..exceptions import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    ImbraceConfigurationError,
    RequestOutcomeUnknownError,
    _make_status_error,
)
from ._config import resolve_config
from ._params import header_items

logger = logging.getLogger("prefect_imbrace.client")

T = TypeVar("T")

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
POST_SAFE_STATUSES = frozenset({429, 503})
"""Statuses that mean "not processed" even for a POST: the server refused before doing anything."""
MAX_RETRY_AFTER = 60.0
DEFAULT_TIMEOUT = 30.0
DEFAULT_MAX_RETRIES = 3
DEFAULT_MAX_CONNECTIONS = 100


def shared_ssl_context() -> ssl.SSLContext:
    """The one verifying SSL context of every client this process makes, sync and async.

    Why: building one loads the CA bundle, about 50 ms of CPU (more on a busy machine), and a
    deployment's flow-run process makes several clients (the wait's, the poller's); httpx
    would build one per client. A context may serve many connections and threads at once.
    `SSL_CERT_FILE` / `SSL_CERT_DIR` are honoured as httpx honours them.
    """
    return _ssl_context(os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"))


@functools.lru_cache(maxsize=4)
def _ssl_context(cafile: str | None, capath: str | None) -> ssl.SSLContext:
    return httpx.create_ssl_context()
INITIAL_RETRY_DELAY = 0.5
MAX_RETRY_DELAY = 8.0

# Failures that happen before any byte of the request reached the server.
_NOT_SENT = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
    httpx.UnsupportedProtocol,
    httpx.LocalProtocolError,
    httpx.ProxyError,
)


# --------------------------------------------------------------------------------------------
# pure policy


def _should_retry(
    method: str, outcome: int | BaseException, headers: Mapping[str, str] | None = None
) -> bool:
    """Whether one attempt's outcome (a status code or a transport exception) is worth repeating."""
    idempotent = method.upper() in IDEMPOTENT_METHODS
    if isinstance(outcome, BaseException):
        if not isinstance(outcome, httpx.TransportError):
            return False
        if isinstance(outcome, _NOT_SENT):
            return True
        return idempotent
    status = outcome
    lowered = {k.lower(): v for k, v in (headers or {}).items()}
    if lowered.get("x-should-retry") == "false":
        return False
    if "x-webhook-id" in lowered:
        # A webhook answer carrying its run id came from the engine's webhook handler (or from the
        # flow's own Return Response step): the request was accepted, never send it again.
        return False
    if idempotent:
        return status == 429 or status >= 500
    return status in POST_SAFE_STATUSES


def parse_retry_after(
    headers: Mapping[str, str] | None, *, now: float | None = None
) -> float | None:
    """The server's wait hint in seconds: `retry-after-ms`, then `retry-after` (seconds or HTTP date)."""
    if not headers:
        return None
    lowered = {k.lower(): v for k, v in headers.items()}
    raw_ms = lowered.get("retry-after-ms")
    if raw_ms is not None:
        try:
            return float(raw_ms) / 1000.0
        except ValueError:
            pass
    raw = lowered.get("retry-after")
    if raw is None:
        return None
    try:
        return float(raw)
    except ValueError:
        pass
    parsed = email.utils.parsedate_tz(raw)
    if parsed is None:
        return None
    when = email.utils.mktime_tz(parsed)
    return float(when - (time.time() if now is None else now))


def _retry_wait(
    attempt: int,
    headers: Mapping[str, str] | None = None,
    *,
    initial: float = INITIAL_RETRY_DELAY,
    maximum: float = MAX_RETRY_DELAY,
    now: float | None = None,
    jitter: float | None = None,
) -> float:
    """Seconds to wait after failed attempt number `attempt` (1-based).

    A `Retry-After` hint of 0..60 s is followed exactly (a longer one is capped at 60 s); without
    a usable hint: `initial * 2**(attempt-1)`, capped at `maximum`, minus up to 25 % jitter.
    """
    hint = parse_retry_after(headers, now=now)
    if hint is not None and hint >= 0:
        return min(hint, MAX_RETRY_AFTER)
    backoff: float = min(initial * 2 ** max(attempt - 1, 0), maximum)
    fraction = random.random() if jitter is None else jitter
    return backoff * (1 - 0.25 * fraction)


def _check_text(params: Mapping[str, Any]) -> None:
    """Query values must be encodable (a lone surrogate would fail deep inside httpx)."""
    for key, value in params.items():
        for item in value if isinstance(value, list | tuple) else [value]:
            if isinstance(item, str):
                try:
                    item.encode("utf-8")
                except UnicodeEncodeError as exc:
                    raise ImbraceConfigurationError(
                        f"Query parameter `{key}` must be valid Unicode text (received {item!r})"
                    ) from exc


def _outcome_unknown(method: str, exc: BaseException) -> bool:
    """A non-idempotent request failed after it may have reached the server."""
    return method.upper() not in IDEMPOTENT_METHODS and not isinstance(exc, _NOT_SENT)


# --------------------------------------------------------------------------------------------
# one logical call


_NO_BODY: Any = object()

Timeout = float | httpx.Timeout | None
"""Seconds (or an `httpx.Timeout`) for one call; None keeps the client's default."""


@dataclass
class Call(Generic[T]):
    """Everything needed to perform and decode one logical API call (no I/O here)."""

    method: str
    path: str
    parse: Callable[[httpx.Response], T]
    params: Mapping[str, Any] | None = None
    json: Any = _NO_BODY
    headers: Mapping[str, str] | None = None
    timeout: Timeout = None
    min_read_timeout: float | None = None
    """Without an explicit `timeout`, read for at least this long (the sync webhook's 30 s hold)."""
    webhook_flow_id: str | None = None
    """Set for `/v1/webhooks/...`: 404/410 then mean "disabled"/"gone"."""
    accept_error: Callable[[httpx.Response], bool] | None = None
    """Error statuses this call decodes itself (sync webhook replies), instead of raising."""
    needs_project: bool = False
    """The resource fills in `projectId` (query or body) with the resolved project id when absent."""

    def with_project(self, project_id: str) -> Call[T]:
        """A copy with `projectId` set where this call carries its arguments."""
        if self.json is _NO_BODY:
            return replace(self, params={**(self.params or {}), "projectId": project_id})
        return replace(self, json={**self.json, "projectId": project_id})


Outcome = httpx.Response | httpx.TransportError
"""How one attempt ended: the engine's answer, or the transport failure (returned, not raised)."""


def _wants_retry(method: str, outcome: Outcome) -> bool:
    """`_should_retry` on one attempt's outcome: an error status or a transport failure."""
    if isinstance(outcome, httpx.Response):
        return outcome.status_code >= 400 and _should_retry(
            method, outcome.status_code, outcome.headers
        )
    return _should_retry(method, outcome)


def _last_outcome(retry_state: RetryCallState) -> Outcome:
    """The outcome tenacity judges; attempts return transport failures, so it never "failed"."""
    assert retry_state.outcome is not None  # set by tenacity before it calls any hook
    outcome: Outcome = retry_state.outcome.result()
    return outcome


class _RetryPolicy(retry_base):
    """Tenacity predicate: `_wants_retry` on the attempt's status or transport error."""

    def __init__(self, method: str):
        self.method = method

    def __call__(self, retry_state: RetryCallState) -> bool:
        outcome = retry_state.outcome
        if outcome is None or outcome.failed:  # a non-transport exception is never retried
            return False
        return _wants_retry(self.method, outcome.result())


def timeout_reading_at_least(timeout: httpx.Timeout, seconds: float) -> httpx.Timeout:
    """`timeout` with its read part raised to at least `seconds`."""
    return httpx.Timeout(
        connect=timeout.connect,
        read=max(timeout.read or 0.0, seconds),
        write=timeout.write,
        pool=timeout.pool,
    )


def _body_of(response: httpx.Response) -> Any:
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return response.text


def _as_timeout(value: float | httpx.Timeout | None, default: httpx.Timeout) -> httpx.Timeout:
    if value is None:
        return default
    if isinstance(value, httpx.Timeout):
        return value
    if value <= 0:
        raise ImbraceConfigurationError(
            f"timeout must be a positive number of seconds (got {value!r})."
        )
    return httpx.Timeout(value)


class RequestGate(Protocol):
    """Passed by every request before it is sent (each attempt of a retried request too).

    The client has no Prefect dependency; `ImbraceCredentials.rate_limit` hands it a gate that
    takes a slot of a Prefect rate limit shared by every process (prefect_imbrace.exactly_once.rate_limit).
    """

    def acquire(self) -> None:
        """Block until this request may go (sync client)."""

    async def aacquire(self) -> None:
        """Wait until this request may go (async client)."""


class ClientOptions(TypedDict, total=False):
    """What `ImbraceClient` and `AsyncImbraceClient` both accept (keyword-only)."""

    api_key: str | None
    access_token: str | None
    organization_id: str | None
    env: str | None
    gateway: str | None
    engine_url: str | None
    timeout: float | httpx.Timeout
    max_retries: int
    max_connections: int
    retry_initial_delay: float
    retry_max_delay: float
    request_gate: RequestGate | None


class _BaseAPIClient:
    """What the sync and async clients share: config, request building, retries, error mapping."""

    def __init__(
        self,
        *,
        api_key: str | None = None,
        access_token: str | None = None,
        organization_id: str | None = None,
        env: str | None = None,
        gateway: str | None = None,
        engine_url: str | None = None,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
        retry_initial_delay: float = INITIAL_RETRY_DELAY,
        retry_max_delay: float = MAX_RETRY_DELAY,
        request_gate: RequestGate | None = None,
    ):
        if not isinstance(max_retries, int) or max_retries < 0:
            raise ImbraceConfigurationError(
                f"max_retries must be an integer >= 0 (got {max_retries!r})."
            )
        if not isinstance(max_connections, int) or max_connections < 1:
            raise ImbraceConfigurationError(
                f"max_connections must be an integer >= 1 (got {max_connections!r})."
            )
        if retry_initial_delay < 0 or retry_max_delay < 0:
            raise ImbraceConfigurationError("retry delays must be >= 0 seconds.")
        config = resolve_config(
            api_key=api_key,
            access_token=access_token,
            organization_id=organization_id,
            env=env,
            gateway=gateway,
            engine_url=engine_url,
        )
        self._config = config
        self.timeout = _as_timeout(timeout, httpx.Timeout(DEFAULT_TIMEOUT))
        self.max_retries = max_retries
        self.retry_initial_delay = retry_initial_delay
        self.retry_max_delay = retry_max_delay
        self._limits = httpx.Limits(
            max_connections=max_connections, max_keepalive_connections=min(20, max_connections)
        )
        self._gate = request_gate
        self._auth_headers = config.auth_headers()
        """Computed once: the config is frozen. Copied into each request, never mutated."""

    @property
    def engine_url(self) -> str:
        """Root of the engine routes, e.g. `https://app-gatewayv2.imbrace.co/activepieces`."""
        return self._config.engine_url

    @property
    def auth_mode(self) -> str:
        """`api_key`, `bearer`, `access_token` or `none` (never the secret itself)."""
        return self._config.auth_mode

    @property
    def organization_id(self) -> str | None:
        return self._config.organization_id

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(engine_url={self.engine_url!r}, auth_mode={self.auth_mode!r})"
        )

    def _build_request(
        self, http: httpx.Client | httpx.AsyncClient, call: Call[Any]
    ) -> httpx.Request:
        headers = {
            "accept": "application/json",
            "x-request-id": f"req_{uuid.uuid4().hex[:21]}",
            **self._auth_headers,
        }
        if call.headers:
            headers.update(header_items(call.headers))
        params = None
        if call.params:
            # None values are left out; an empty query is passed as None (httpx then skips
            # re-parsing the URL to merge nothing).
            params = {k: v for k, v in call.params.items() if v is not None} or None
            if params:
                _check_text(params)
        timeout = _as_timeout(call.timeout, self.timeout)
        if call.timeout is None and call.min_read_timeout is not None:
            timeout = timeout_reading_at_least(timeout, call.min_read_timeout)
        kwargs: dict[str, Any] = {"params": params, "headers": headers, "timeout": timeout}
        if call.json is not _NO_BODY:
            kwargs["json"] = call.json
        try:
            return http.build_request(call.method, self.engine_url + call.path, **kwargs)
        except (TypeError, ValueError) as exc:  # e.g. NaN or a lone surrogate in a body field
            raise ImbraceConfigurationError(
                f"The {call.method} {call.path} request cannot be encoded: {exc}. Body values must "
                f"be JSON-serialisable (no NaN/Infinity) and text valid Unicode."
            ) from exc

    def _first_pause(self, call: Call[Any], first: Outcome) -> float | None:
        """Seconds to wait before attempt 2, or None when the first outcome is final.

        Why the first attempt is sent outside tenacity: building a `Retrying` for every call
        doubled the client's own cost (about 40 -> 90 us per call over bare httpx) and cost
        7-10 % of a loopback call in benchmarks/bench_overhead.py, while nearly every call ends
        at its first answer. Tenacity takes over only for attempts 2 and later.
        """
        if self.max_retries == 0 or not _wants_retry(call.method, first):
            return None
        wait = self._wait_after(first, 1)
        self._log_retry(call, first, 1, wait)
        return wait

    def _retrying_kwargs(self, call: Call[Any]) -> dict[str, Any]:
        """Tenacity for attempts 2 .. max_retries + 1: its attempt n is the call's attempt n + 1."""
        return {
            "stop": stop_after_attempt(self.max_retries),
            "retry": _RetryPolicy(call.method),
            "wait": lambda state: self._wait_after(_last_outcome(state), state.attempt_number + 1),
            "before_sleep": lambda state: self._log_retry(
                call, _last_outcome(state), state.attempt_number + 1, state.upcoming_sleep
            ),
            "retry_error_callback": _last_outcome,
        }

    def _wait_after(self, outcome: Outcome, attempt: int) -> float:
        """The pause after failed attempt `attempt`: the answer's Retry-After, else backoff."""
        headers = outcome.headers if isinstance(outcome, httpx.Response) else None
        return _retry_wait(
            attempt, headers, initial=self.retry_initial_delay, maximum=self.retry_max_delay
        )

    def _log_retry(self, call: Call[Any], outcome: Outcome, attempt: int, wait: float) -> None:
        reason = (
            str(outcome.status_code)
            if isinstance(outcome, httpx.Response)
            else type(outcome).__name__
        )
        logger.debug(
            "retrying %s %s in %.3fs after %s (attempt %d of %d)",
            call.method,
            call.path,
            wait,
            reason,
            attempt,
            self.max_retries + 1,
            extra={
                "imbrace_retry_wait": wait,
                "imbrace_retry_reason": reason,
                "imbrace_retry_attempt": attempt,
                "imbrace_method": call.method,
                "imbrace_path": call.path,
            },
        )

    def _transport_error(
        self, call: Call[Any], exc: httpx.TransportError, attempts: int
    ) -> APIError:
        url = self.engine_url + call.path
        if _outcome_unknown(call.method, exc):
            return RequestOutcomeUnknownError(
                f"{call.method} {url} was sent but no answer came back ({type(exc).__name__}); the "
                f"engine may or may not have processed it, so it was NOT sent again. Check the engine "
                f"state (for a trigger: list_runs(flow_id=..., created_after=receipt time)) before "
                f"retrying.",
                method=call.method,
                url=url,
            )
        tried = f" after {attempts} attempts" if attempts > 1 else ""
        if isinstance(exc, httpx.TimeoutException):
            return APITimeoutError(
                f"{call.method} {url} timed out{tried} ({type(exc).__name__}); raise timeout= or check "
                f"the engine.",
                method=call.method,
                url=url,
            )
        return APIConnectionError(
            f"Could not reach the engine for {call.method} {url}{tried} ({type(exc).__name__}: {exc}). "
            f"Check gateway= / engine_url= / IMBRACE_GATEWAY_URL and the network.",
            method=call.method,
            url=url,
        )

    def _finish(self, call: Call[T], outcome: Outcome, attempts: int) -> T:
        """Decode the last attempt's answer, or raise the typed error for it."""
        if not isinstance(outcome, httpx.Response):
            raise self._transport_error(call, outcome, attempts) from outcome
        response = outcome
        status = response.status_code
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug(
                "%s %s -> %d (%d attempt(s))",
                call.method,
                call.path,
                status,
                attempts,
                extra={"imbrace_status": status, "imbrace_attempts": attempts},
            )
        if status >= 400 and not (call.accept_error and call.accept_error(response)):
            raise _make_status_error(
                status,
                _body_of(response),
                headers=dict(response.headers),
                method=call.method,
                url=self.engine_url + call.path,
                webhook_flow_id=call.webhook_flow_id,
                auth_mode=self.auth_mode,
                retries=attempts - 1,
                retry_after=parse_retry_after(response.headers) if status == 429 else None,
            )
        try:
            return call.parse(response)
        except APIError:
            raise
        except (ValueError, TypeError) as exc:
            snippet = response.text[:200]
            raise APIError(
                f"The engine answered {call.method} {self.engine_url + call.path} with {status} and a "
                f"body this client cannot read ({type(exc).__name__}): {snippet!r}. Is the URL an "
                f"Imbrace engine?",
                method=call.method,
                url=self.engine_url + call.path,
            ) from exc


def json_or_none(response: httpx.Response) -> Any:
    """Decoded JSON body, or None for 204 / an empty body (DELETE answers, SIMULATION test-trigger)."""
    if response.status_code == 204 or not response.content:
        return None
    return jsonlib.loads(response.content)
