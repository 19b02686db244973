"""How one endpoint definition serves both `Workflows` and `AsyncWorkflows`.

An endpoint is written once, as a method that takes keyword-only parameters and returns a
`Call` (route, query, body, decoder; no I/O)::

    @endpoint
    def get_run(self, *, run_id: str, timeout: Timeout = None) -> Call[FlowRun]:
        return Call("GET", f"/v1/flow-runs/{p.guard_id('run_id', run_id)}", one(FlowRun), timeout=timeout)

`endpoint` is a descriptor: read from a `Workflows` it is a blocking method returning the
decoded answer, read from an `AsyncWorkflows` a coroutine function; a type checker sees both
signatures (`Callable[P, T]` / `Callable[P, Awaitable[T]]`). `paged(list_x)` turns a list
endpoint into its `iter_x`: same parameters (`limit` is the page size), an iterable `Pager`.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Concatenate, Generic, ParamSpec, TypeVar, overload

import httpx
from pydantic import BaseModel, TypeAdapter
from typing_extensions import Self

from ..exceptions import ImbraceConfigurationError
from ._base import Call
from .pagination import AsyncPager, Pager, SeekPage

if TYPE_CHECKING:
    from .workflows import AsyncWorkflows, Workflows

__all__ = ["endpoint", "list_of", "nothing", "one", "page_of", "paged"]

P = ParamSpec("P")
T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)

ITER_PAGE_SIZE = 100
"""The page size of `iter_*` when no `limit` is given (a list call's own default is 10)."""

Build = Callable[Concatenate[Any, P], Call[T]]


def one(model: type[M]) -> Callable[[httpx.Response], M]:
    """Decode the body as one `model`."""
    return lambda response: model.model_validate_json(response.content)


def page_of(model: type[M]) -> Callable[[httpx.Response], SeekPage[M]]:
    """Decode the body as a `SeekPage[model]`."""
    adapter = TypeAdapter(SeekPage[model])  # type: ignore[valid-type]
    return lambda response: adapter.validate_json(response.content)


def list_of(model: type[M]) -> Callable[[httpx.Response], list[M]]:
    """Decode the body as a bare JSON list of `model`."""
    adapter = TypeAdapter(list[model])  # type: ignore[valid-type]
    return lambda response: adapter.validate_json(response.content)


def nothing(response: httpx.Response) -> None:
    """Ignore the body (204 answers)."""
    return None


class endpoint(Generic[P, T]):  # noqa: N801 - used as a decorator, like `property`
    """One engine endpoint, defined once, bound as a sync or an async method by its owner."""

    def __init__(self, build: Build[P, T]) -> None:
        self._build = build
        self.__doc__ = build.__doc__
        self.__name__ = build.__name__
        self.__wrapped__ = build

    @overload
    def __get__(self, obj: None, owner: type[Any]) -> Self: ...
    @overload
    def __get__(self, obj: Workflows, owner: type[Any]) -> Callable[P, T]: ...
    @overload
    def __get__(self, obj: AsyncWorkflows, owner: type[Any]) -> Callable[P, Awaitable[T]]: ...
    def __get__(self, obj: Any, owner: type[Any]) -> Any:
        if obj is None:
            return self
        build, send = self._build, obj._send

        def blocking(*args: Any, **kwargs: Any) -> Any:
            return send(build(obj, *args, **kwargs))

        async def awaitable(*args: Any, **kwargs: Any) -> Any:
            return await send(build(obj, *args, **kwargs))

        method = awaitable if inspect.iscoroutinefunction(send) else blocking
        method.__name__ = method.__qualname__ = self.__name__
        method.__doc__ = self.__doc__
        obj.__dict__[self.__name__] = method  # bound once per resource object
        return method


class paged(Generic[P, T]):  # noqa: N801 - used like `property`
    """`iter_x = paged(list_x)`: every item of `list_x`'s pages, following `next` cursors.

    Takes exactly `list_x`'s parameters (`limit` is the page size, default 100; `cursor` where
    to start);
    anything else raises `ImbraceConfigurationError` at once, before a request is sent.
    """

    def __init__(self, listing: endpoint[P, SeekPage[T]]) -> None:
        self._build: Callable[..., Call[SeekPage[T]]] = listing._build
        self._signature = inspect.signature(listing._build)
        self._listing = listing.__name__
        self.__doc__ = (
            f"Every item of `{self._listing}`'s pages: same parameters, `limit` is the page size "
            f"(default {ITER_PAGE_SIZE}). Returns a pager: iterate it, or `.take(n)` for at most n items."
        )

    def __set_name__(self, owner: type[Any], name: str) -> None:
        self.__name__ = name

    @overload
    def __get__(self, obj: None, owner: type[Any]) -> Self: ...
    @overload
    def __get__(self, obj: Workflows, owner: type[Any]) -> Callable[P, Pager[T]]: ...
    @overload
    def __get__(self, obj: AsyncWorkflows, owner: type[Any]) -> Callable[P, AsyncPager[T]]: ...
    def __get__(self, obj: Any, owner: type[Any]) -> Any:
        if obj is None:
            return self

        def method(*args: Any, **kwargs: Any) -> Any:
            try:
                self._signature.bind(obj, *args, **kwargs)
            except TypeError as exc:
                raise ImbraceConfigurationError(
                    f"{self.__name__}() takes the keyword parameters of {self._listing}() "
                    f"({', '.join(list(self._signature.parameters)[1:])}; `limit` is the page "
                    f"size): {exc}."
                ) from exc
            kwargs.setdefault("limit", ITER_PAGE_SIZE)
            self._build(obj, **kwargs)  # checks every value now, before anything is sent

            def call_for(cursor: str | None) -> Call[SeekPage[T]]:
                return self._build(obj, **{**kwargs, "cursor": cursor})

            return obj._pager(call_for, kwargs.get("cursor"))

        method.__name__ = method.__qualname__ = self.__name__
        method.__doc__ = self.__doc__
        obj.__dict__[self.__name__] = method
        return method
