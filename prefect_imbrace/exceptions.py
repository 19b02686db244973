"""The one error tree of prefect-imbrace (no Prefect import, no httpx import).

```
ImbraceError
 ├── ImbraceConfigurationError      bad configuration or argument, raised before anything is sent (also a ValueError)
 ├── APIError                        anything that went wrong talking to the engine
 │    ├── APIStatusError             the engine answered with an error status (status_code, code, params, request_id, body)
 │    │    ├── InvalidRequestError   400 (FST_ERR_VALIDATION and other 400 codes)
 │    │    ├── AuthenticationError   401
 │    │    ├── PermissionDeniedError 403
 │    │    ├── NotFoundError         404, 400 FLOW_RUN_NOT_FOUND, webhook 410
 │    │    │    ├── FlowDisabledError   webhook 404 (flow exists but is disabled)
 │    │    │    └── FlowGoneError       webhook 410 (no such flow, or deleted)
 │    │    ├── ConflictError         409 (VALIDATION, FLOW_IN_USE, ...)
 │    │    ├── RateLimitError        429
 │    │    └── ServerError           5xx
 │    └── APIConnectionError         no usable answer
 │         ├── APITimeoutError
 │         └── RequestOutcomeUnknownError   a non-idempotent request was sent and its fate is unknown
 └── ImbraceRunError                 an Imbrace run ended badly (raised by the Prefect layer)
      ├── ImbraceRunFailed           FAILED, TIMEOUT, INTERNAL_ERROR, QUOTA_EXCEEDED, MEMORY_LIMIT_EXCEEDED, unknown terminal
      ├── ImbraceRunCancelled        CANCELED
      └── ImbraceRunWaitTimeout      our wait limit (overall or PAUSED) ran out; the run is still going
```

Only `prefect_imbrace.client._base` turns transport failures and error statuses into these
classes, and every status is mapped by the single function `_make_status_error`, so callers
write ``except NotFoundError`` instead of comparing status codes. No message, repr or
attribute ever holds a credential: the client never passes request headers here.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "ConflictError",
    "FlowDisabledError",
    "FlowGoneError",
    "ImbraceConfigurationError",
    "ImbraceError",
    "ImbraceRunCancelled",
    "ImbraceRunError",
    "ImbraceRunFailed",
    "ImbraceRunWaitTimeout",
    "InvalidRequestError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "RequestOutcomeUnknownError",
    "ServerError",
]


class ImbraceError(Exception):
    """Base of every error raised by prefect-imbrace."""


class ImbraceConfigurationError(ImbraceError, ValueError):
    """A setting or argument is wrong; raised before anything is sent to the engine."""


class APIError(ImbraceError):
    """Talking to the engine went wrong. `method` and `url` name the request (never its headers)."""

    def __init__(self, message: str, *, method: str | None = None, url: str | None = None):
        super().__init__(message)
        self.message = message
        self.method = method
        self.url = url


class APIStatusError(APIError):
    """The engine (or the gateway in front of it) answered with an error status.

    `code`/`params` come from the engine body `{"code", "params"}` or the Fastify body
    `{"statusCode", "code", "error", "message"}`; `request_id` is the `x-request-id` echo.
    """

    status_code: int

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        body: Any = None,
        code: str | None = None,
        params: Mapping[str, Any] | None = None,
        request_id: str | None = None,
        headers: Mapping[str, str] | None = None,
        method: str | None = None,
        url: str | None = None,
    ):
        super().__init__(message, method=method, url=url)
        self.status_code = status_code
        self.body = body
        self.code = code
        self.params = dict(params or {})
        self.request_id = request_id
        self.headers = dict(headers or {})


class InvalidRequestError(APIStatusError):
    """400: the engine rejected the request (schema validation or a business rule)."""


class AuthenticationError(APIStatusError):
    """401: the gateway did not accept the credentials."""


class PermissionDeniedError(APIStatusError):
    """403: authenticated, but not allowed (scoped API key, foreign projectId, ...)."""


class NotFoundError(APIStatusError):
    """The entity does not exist in the caller's project (404, or the engine's 400 FLOW_RUN_NOT_FOUND)."""


class FlowDisabledError(NotFoundError):
    """A webhook answered 404: the flow exists but is disabled, so nothing was run."""

    def __init__(self, message: str, *, flow_id: str | None = None, **kwargs: Any):
        super().__init__(message, **kwargs)
        self.flow_id = flow_id


class FlowGoneError(NotFoundError):
    """A webhook answered 410: no such flow (never existed, or deleted)."""

    def __init__(self, message: str, *, flow_id: str | None = None, **kwargs: Any):
        super().__init__(message, **kwargs)
        self.flow_id = flow_id


class ConflictError(APIStatusError):
    """409: engine `VALIDATION` (e.g. a folder name in use), `FLOW_IN_USE`, ..."""


class RateLimitError(APIStatusError):
    """429, still answered after the allowed retries. `retry_after` is the server's hint in seconds."""

    retry_after: float | None = None


class ServerError(APIStatusError):
    """5xx: the engine or gateway failed (idempotent requests were already retried)."""


class APIConnectionError(APIError):
    """No usable answer came back (connection refused, reset, protocol error)."""


class APITimeoutError(APIConnectionError):
    """The request timed out (idempotent requests were already retried)."""


class RequestOutcomeUnknownError(APIConnectionError):
    """A non-idempotent request (a POST) was sent, and no answer came back.

    The engine may or may not have processed it, so it was deliberately **not** sent again:
    re-sending a webhook could start a second run. Check the engine state (for a trigger:
    `list_runs(flow_id=..., created_after=receipt_time)`) before deciding to retry.
    """


class ImbraceRunError(ImbraceError):
    """An Imbrace run ended badly (raised by the Prefect layer, not by the HTTP client)."""

    def __init__(
        self,
        message: str,
        *,
        run_id: str | None = None,
        flow_id: str | None = None,
        status: str | None = None,
        failed_step: str | None = None,
        error_message: str | None = None,
        run: Any = None,
    ):
        super().__init__(message)
        self.message = message
        self.run_id = run_id
        self.flow_id = flow_id
        self.status = status
        self.failed_step = failed_step
        self.error_message = error_message
        self.run = run

    @classmethod
    def from_run(cls, run: Any, message: str | None = None) -> ImbraceRunError:
        """Build the error from a `FlowRun` model, taking its ids, status and failed step."""
        failed = getattr(run, "failed_step_name", None)
        error = getattr(run, "error_message", None)
        status = getattr(run, "status", None)
        if message is None:
            message = f"Imbrace run {getattr(run, 'id', '?')} of flow {getattr(run, 'flow_id', '?')} ended {status}"
            if failed:
                message += f" at step {failed!r}"
            if error:
                message += f": {error}"
        return cls(
            message,
            run_id=getattr(run, "id", None),
            flow_id=getattr(run, "flow_id", None),
            status=status,
            failed_step=failed,
            error_message=error,
            run=run,
        )


class ImbraceRunFailed(ImbraceRunError):
    """The run ended in a failure state (FAILED, TIMEOUT, INTERNAL_ERROR, QUOTA_EXCEEDED, ...)."""


class ImbraceRunCancelled(ImbraceRunError):
    """The run was CANCELED."""


class ImbraceRunWaitTimeout(ImbraceRunError):
    """Our own wait limit ran out; the run itself is still going on the engine."""


# --------------------------------------------------------------------------------------------
# status -> class: the whole ladder lives here

_AUTH_HINTS = {
    "api_key": "the API key was rejected; check IMBRACE_API_KEY / api_key= (it must be a valid, full-access key)",
    "bearer": (
        "the JWT was rejected or has expired, or organization_id is not one of its organisations; "
        "check IMBRACE_ACCESS_TOKEN / access_token= and IMBRACE_ORGANIZATION_ID / organization_id="
    ),
    "access_token": "the access token was rejected or has expired; check IMBRACE_ACCESS_TOKEN / access_token=",
    "none": "no credentials were sent; set IMBRACE_API_KEY / api_key= (or an access token)",
}
_AUTH_HINT = (
    "check the credentials: IMBRACE_API_KEY / api_key= (a full-access key), or "
    "IMBRACE_ACCESS_TOKEN / access_token= with IMBRACE_ORGANIZATION_ID / organization_id="
)


def _engine_text(body: Any) -> str | None:
    """The human part of an error body in any of the engine's three shapes."""
    if isinstance(body, Mapping):
        message = body.get("message")
        if isinstance(message, str) and message:
            return message
        params = body.get("params")
        if isinstance(params, Mapping):
            for key in ("message", "error"):
                text = params.get(key)
                if isinstance(text, str) and text:
                    return text
            if params:
                return json.dumps(dict(params), sort_keys=True, default=str)
        error = body.get("error")
        if isinstance(error, str) and error:
            return error
        return None
    if isinstance(body, str) and body.strip():
        return body.strip()[:500]
    return None


def _make_status_error(
    status_code: int,
    body: Any,
    *,
    headers: Mapping[str, str] | None = None,
    method: str | None = None,
    url: str | None = None,
    webhook_flow_id: str | None = None,
    retries: int = 0,
    auth_mode: str | None = None,
    retry_after: float | None = None,
) -> APIStatusError:
    """Turn one error answer into the most specific class, with a message that says what to fix.

    `webhook_flow_id` is set for `/v1/webhooks/...` calls, where 404 means "disabled" and 410
    "gone". `retries` is how many times the request was already repeated; `auth_mode` (which
    header set was sent, never the secret) tailors the 401 advice.
    """
    lowered = {k.lower(): v for k, v in (headers or {}).items()}
    code = (
        body.get("code")
        if isinstance(body, Mapping) and isinstance(body.get("code"), str)
        else None
    )
    params: Mapping[str, Any] = (
        body["params"]
        if isinstance(body, Mapping) and isinstance(body.get("params"), Mapping)
        else {}
    )
    request_id = lowered.get("x-request-id") or (
        body.get("request_id")
        if isinstance(body, Mapping) and isinstance(body.get("request_id"), str)
        else None
    )
    text = _engine_text(body)
    where = f"{method} {url}" if method and url else (url or "request")
    tag = f"{status_code} {code}" if code else f"{status_code}"
    detail = f": {text}" if text else ""
    kwargs: dict[str, Any] = {
        "status_code": status_code,
        "body": body,
        "code": code,
        "params": params,
        "request_id": request_id,
        "headers": lowered,
        "method": method,
        "url": url,
    }
    retried = f" (after {retries} retries)" if retries else ""

    if webhook_flow_id is not None and status_code == 404:
        return FlowDisabledError(
            f"Flow {webhook_flow_id} is disabled, so the webhook started nothing (404). Enable it with "
            f"apply_flow_operation(flow_id, ops.change_status('ENABLED')) or publish it with "
            f"ops.lock_and_publish().",
            flow_id=webhook_flow_id,
            **kwargs,
        )
    if webhook_flow_id is not None and status_code == 410:
        return FlowGoneError(
            f"Flow {webhook_flow_id} does not exist (410): it was deleted or never existed in this "
            f"engine/organisation. Check the flow id and the gateway URL.",
            flow_id=webhook_flow_id,
            **kwargs,
        )
    if status_code == 401:
        return AuthenticationError(
            f"Authentication failed (401) for {where}{detail}. Fix: {_AUTH_HINTS.get(auth_mode or '', _AUTH_HINT)}.",
            **kwargs,
        )
    if status_code == 403:
        return PermissionDeniedError(
            f"Permission denied ({tag}) for {where}{detail}. Workflow routes need a full-access API key, "
            f"and a project_id, when given, must be the caller's own project.",
            **kwargs,
        )
    if status_code == 404 or (status_code == 400 and code == "FLOW_RUN_NOT_FOUND"):
        if code == "FLOW_RUN_NOT_FOUND":
            run_id = params.get("id", "?")
            message = (
                f"Flow run {run_id} was not found ({tag}): it does not exist in this organisation's "
                f"project. Check the run id."
            )
        elif text == "Route not found":
            message = (
                f"Route not found (404) for {where}: the URL does not point at an Imbrace engine of this "
                f"version. Check gateway= / engine_url= / IMBRACE_GATEWAY_URL."
            )
        else:
            message = (
                f"Not found ({tag}) for {where}{detail}. The id does not exist in the caller's project "
                f"(or belongs to another organisation)."
            )
        return NotFoundError(message, **kwargs)
    if status_code == 409:
        return ConflictError(f"Conflict ({tag}) for {where}{detail}.", **kwargs)
    if status_code == 429:
        error = RateLimitError(
            f"Rate limited (429) for {where}{retried}{detail}. Slow down, or raise max_retries.",
            **kwargs,
        )
        error.retry_after = retry_after
        return error
    if status_code >= 500:
        return ServerError(f"Engine error ({tag}) for {where}{retried}{detail}.", **kwargs)
    if status_code == 400:
        if code == "FST_ERR_VALIDATION":
            message = f"The engine rejected the request ({tag}) for {where}: {text}. Fix the field it names."
        else:
            message = f"Invalid request ({tag}) for {where}{detail}."
        return InvalidRequestError(message, **kwargs)
    return APIStatusError(f"Engine answered {tag} for {where}{detail}.", **kwargs)

