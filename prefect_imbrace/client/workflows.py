"""`Workflows` and `AsyncWorkflows`: the seed's methods, sync and async side by side.

Every endpoint is defined once, in `endpoints/` (route, parameters in the official SDK's
order, answer model), and both classes inherit it: on `Workflows` it is a blocking method, on
`AsyncWorkflows` a coroutine method. What differs between the twins is only how a call is
sent (`_send`), how pages are followed (`_pager`) and the one method that combines calls,
`resolve_project_id`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from ..exceptions import (
    APIStatusError,
    AuthenticationError,
    ImbraceConfigurationError,
    PermissionDeniedError,
)
from ._base import Call
from ._resource import page_of
from .endpoints import FlowEndpoints, ResourceEndpoints, RunEndpoints, TableEndpoints
from .models import Flow
from .pagination import AsyncPager, Pager, SeekPage

if TYPE_CHECKING:
    from ._client import AsyncImbraceClient, ImbraceClient

__all__ = ["AsyncWorkflows", "Workflows"]

T = TypeVar("T")

_FIRST_FLOW: Call[SeekPage[Flow]] = Call("GET", "/v1/flows", page_of(Flow), params={"limit": 1})
"""Where `resolve_project_id` reads the project id when the project route gives none."""

_FALLBACK_ERRORS = (APIStatusError, ValueError)
"""Errors after which `resolve_project_id` tries the first flow (credential errors are re-raised)."""


def _resolved(project_id: str | None) -> str:
    if not project_id:
        raise ImbraceConfigurationError(
            "Could not find this organisation's workflow project: GET /v1/users/projects/current gave no "
            "id and there is no flow to read it from. Pass project_id= explicitly."
        )
    return project_id


class _WorkflowsBase(FlowEndpoints, RunEndpoints, ResourceEndpoints, TableEndpoints):
    """Every endpoint definition, plus the project id once it is known."""

    def __init__(self) -> None:
        self._project_id: str | None = None


class Workflows(_WorkflowsBase):
    """The Imbrace workflow engine: flows, runs, folders, connections, MCP servers, tables."""

    def __init__(self, client: ImbraceClient):
        super().__init__()
        self._client = client

    def _send(self, call: Call[T]) -> T:
        if call.needs_project:
            call = call.with_project(self.resolve_project_id())
        return self._client.request(call)

    def _pager(
        self, call_for: Callable[[str | None], Call[SeekPage[T]]], start: str | None
    ) -> Pager[T]:
        return Pager(lambda cursor: self._send(call_for(cursor)), start)

    def resolve_project_id(self) -> str:
        """The organisation's project id, looked up once and cached (SDK logic).

        Asks `GET /v1/users/projects/current`; if that fails (other than on credentials) or has
        no id, falls back to the `projectId` of the first flow.
        """
        if self._project_id:
            return self._project_id
        try:
            project_id: str | None = self.get_project().id
        except (AuthenticationError, PermissionDeniedError):
            raise
        except _FALLBACK_ERRORS:
            project_id = None
        if not project_id:
            page = self._client.request(_FIRST_FLOW)
            project_id = page.data[0].project_id if page.data else None
        self._project_id = _resolved(project_id)
        return self._project_id


class AsyncWorkflows(_WorkflowsBase):
    """Async twin of `Workflows`: the same methods, awaitable; `iter_*` give `async for` pagers."""

    def __init__(self, client: AsyncImbraceClient):
        super().__init__()
        self._client = client

    async def _send(self, call: Call[T]) -> T:
        if call.needs_project:
            call = call.with_project(await self.resolve_project_id())
        return await self._client.request(call)

    def _pager(
        self, call_for: Callable[[str | None], Call[SeekPage[T]]], start: str | None
    ) -> AsyncPager[T]:
        return AsyncPager(lambda cursor: self._send(call_for(cursor)), start)

    async def resolve_project_id(self) -> str:
        """The organisation's project id, looked up once and cached (SDK logic).

        Asks `GET /v1/users/projects/current`; if that fails (other than on credentials) or has
        no id, falls back to the `projectId` of the first flow.
        """
        if self._project_id:
            return self._project_id
        try:
            project_id: str | None = (await self.get_project()).id
        except (AuthenticationError, PermissionDeniedError):
            raise
        except _FALLBACK_ERRORS:
            project_id = None
        if not project_id:
            page = await self._client.request(_FIRST_FLOW)
            project_id = page.data[0].project_id if page.data else None
        self._project_id = _resolved(project_id)
        return self._project_id
