"""The client a task opens from its credentials block, with a clear error for anything else."""

from __future__ import annotations

from typing import Any

from prefect_imbrace.client import AsyncImbraceClient, ImbraceClient
from prefect_imbrace.exceptions import ImbraceConfigurationError

__all__ = ["async_client_of", "client_of"]


def _checked(imbrace_credentials: Any) -> Any:
    from prefect_imbrace.credentials import ImbraceCredentials

    if not isinstance(imbrace_credentials, ImbraceCredentials):
        raise ImbraceConfigurationError(
            "The first argument must be an ImbraceCredentials block "
            f"(e.g. ImbraceCredentials.load('my-imbrace')), not {type(imbrace_credentials).__name__}."
        )
    return imbrace_credentials


def client_of(imbrace_credentials: Any) -> ImbraceClient:
    """`imbrace_credentials.get_client()`: a new blocking client, to use in a `with` block."""
    client: ImbraceClient = _checked(imbrace_credentials).get_client()
    return client


def async_client_of(imbrace_credentials: Any) -> AsyncImbraceClient:
    """`imbrace_credentials.get_async_client()`: a new async client, for `async with`."""
    client: AsyncImbraceClient = _checked(imbrace_credentials).get_async_client()
    return client
