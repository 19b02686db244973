"""The `@operation` decorator: one client method -> one sync/async Prefect task pair.

An operation's body only *describes* its call (`Call("get_run", run_id).log(...)`), so the
same body serves the sync client in the sync task and the async client in the async twin.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from prefect import get_run_logger

from prefect_imbrace.exceptions import ImbraceConfigurationError
from prefect_imbrace.tasks._dispatch import ImbraceTask, make_task

__all__ = ["Call", "operation"]


class Call:
    """A client call to make: `client.workflows.<method>(*args, **kwargs)`, and what to log."""

    def __init__(self, method: str, *args: Any, **kwargs: Any):
        self.method = method
        self.args = args
        self.kwargs = kwargs
        self.message = "Calling Imbrace %s."
        self.message_args: tuple[Any, ...] = (method,)
        self.shape: Callable[[Any], Any] = _unchanged

    def log(self, message: str, *args: Any) -> Call:
        """The INFO line the task writes (%-style; never pass secrets here)."""
        self.message, self.message_args = message, args
        return self

    def returning(self, shape: Callable[[Any], Any]) -> Call:
        """Reshape the client's answer before it becomes the task result (e.g. hide secrets)."""
        self.shape = shape
        return self


def _unchanged(value: Any) -> Any:
    return value


def credentials_of(signature: inspect.Signature, args: tuple, kwargs: dict) -> Any:
    from prefect_imbrace.credentials import ImbraceCredentials

    creds = signature.bind_partial(*args, **kwargs).arguments.get("imbrace_credentials")
    if not isinstance(creds, ImbraceCredentials):
        raise ImbraceConfigurationError(
            "The first argument must be an ImbraceCredentials block "
            "(e.g. ImbraceCredentials.load('my-imbrace'))."
        )
    return creds


def operation(name: str, *, secret: bool = False) -> Callable[[Callable[..., Call]], ImbraceTask]:
    """Turn a `Call`-returning body into an `ImbraceTask` named `name`."""

    def decorate(body: Callable[..., Call]) -> ImbraceTask:
        signature = inspect.signature(body)

        def sync_fn(*args: Any, **kwargs: Any) -> Any:
            creds = credentials_of(signature, args, kwargs)
            call = body(*args, **kwargs)
            get_run_logger().info(call.message, *call.message_args)
            with creds.get_client() as client:
                return call.shape(getattr(client.workflows, call.method)(*call.args, **call.kwargs))

        async def async_fn(*args: Any, **kwargs: Any) -> Any:
            creds = credentials_of(signature, args, kwargs)
            call = body(*args, **kwargs)
            get_run_logger().info(call.message, *call.message_args)
            async with creds.get_async_client() as client:
                answer = await getattr(client.workflows, call.method)(*call.args, **call.kwargs)
                return call.shape(answer)

        return make_task(sync_fn, async_fn, name=name, like=body, secret=secret)

    return decorate
