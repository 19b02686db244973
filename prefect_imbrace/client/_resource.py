"""How one endpoint definition serves both `Workflows` and `AsyncWorkflows`.

An endpoint is written once, as a method that takes its parameters in the official SDK's order
(positional or keyword; options after a `*`) and returns a `Call` (route, query, body, decoder;
no I/O)::

    @endpoint
    def get_run(self, run_id: str, *, timeout: Timeout = None) -> Call[FlowRun]:
        return Call("GET", f"/v1/flow-runs/{p.guard_id('run_id', run_id)}", one(FlowRun), timeout=timeout)

`endpoint` is a descriptor: read from a `Workflows` it is a blocking method returning the
decoded answer, read from an `AsyncWorkflows` a coroutine function; a type checker sees both
signatures (`Callable[P, T]` / `Callable[P, Awaitable[T]]`), and so does `inspect.signature`
(and with it `help()`, IDEs and notebooks): the bound method carries the definition's
parameters and the decoded type `T` as its return annotation. `paged(list_x)` turns a list
endpoint into its `iter_x`: same parameters (`limit` is the page size), an iterable `Pager`.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import (
    TYPE_CHECKING,
    Any,
    Concatenate,
    Generic,
    ParamSpec,
    TypeVar,
    get_args,
    get_origin,
    overload,
)

import httpx
from pydantic import BaseModel, TypeAdapter
from typing_extensions import Self

from ..exceptions import ImbraceConfigurationError
from ._base import Call
from .pagination import AsyncPager, Pager, SeekPage

if TYPE_CHECKING:
    from .workflows import AsyncWorkflows, Workflows

__all__ = ["endpoint", "iter_doc", "list_of", "nothing", "one", "page_of", "paged"]

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


def iter_doc(listing: str) -> str:
    """The docstring of `iter_x = paged(listing)` (also read by the docs' API reference)."""
    return (
        f"Every item of `{listing}`'s pages: same parameters, `limit` is the page size "
        f"(default {ITER_PAGE_SIZE}). Returns a pager: iterate it, or `.take(n)` for at most n items."
    )


def _answer_type(annotation: Any) -> Any:
    """`Call[X]` -> `X` (a string annotation that could not be evaluated: by its text)."""
    if isinstance(annotation, str):
        inner = annotation.strip()
        return inner[5:-1] if inner.startswith("Call[") and inner.endswith("]") else annotation
    if get_origin(annotation) is Call:
        return get_args(annotation)[0]
    return annotation


def _item_type(page: Any) -> Any:
    """`SeekPage[X]` -> `X`."""
    if isinstance(page, str):
        inner = page.strip()
        return inner[9:-1] if inner.startswith("SeekPage[") and inner.endswith("]") else Any
    metadata = getattr(page, "__pydantic_generic_metadata__", None) or {}
    args = metadata.get("args") or ()
    return args[0] if args else Any


def _public_signature(
    build: Callable[..., Any], returns: Callable[[Any], Any]
) -> inspect.Signature:
    """`build`'s parameters without `self`, annotations evaluated, and `returns(its return)`."""
    try:
        signature = inspect.signature(build, eval_str=True)
    except (NameError, TypeError, SyntaxError):  # an annotation naming what only type checkers see
        signature = inspect.signature(build)
    parameters = list(signature.parameters.values())[1:]
    return signature.replace(
        parameters=parameters, return_annotation=returns(signature.return_annotation)
    )


def _present(
    method: Callable[..., Any], name: str, owner: Any, doc: str | None, signature: inspect.Signature
) -> None:
    """Make a bound method look like the method it is to `inspect`, `help()` and IDEs."""
    method.__name__ = name
    method.__qualname__ = f"{type(owner).__name__}.{name}"
    method.__module__ = type(owner).__module__
    method.__doc__ = doc
    method.__signature__ = signature  # type: ignore[attr-defined]
    annotations = {
        p.name: p.annotation for p in signature.parameters.values() if p.annotation is not p.empty
    }
    method.__annotations__ = {**annotations, "return": signature.return_annotation}


def _with_self(signature: inspect.Signature) -> inspect.Signature:
    """A bound method's signature as read from the class: `self` first."""
    first = inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return signature.replace(parameters=[first, *signature.parameters.values()])


class endpoint(Generic[P, T]):  # noqa: N801 - used as a decorator, like `property`
    """One engine endpoint, defined once, bound as a sync or an async method by its owner."""

    def __init__(self, build: Build[P, T]) -> None:
        self._build = build
        self.__doc__ = build.__doc__
        self.__name__ = build.__name__
        self.__wrapped__ = build
        self._signature: inspect.Signature | None = None

    @property
    def signature(self) -> inspect.Signature:
        """The bound method's signature: the definition's parameters, returning the decoded type."""
        if self._signature is None:  # lazily: annotations name models imported after this module
            self._signature = _public_signature(self._build, _answer_type)
        return self._signature

    @property
    def __signature__(self) -> inspect.Signature:
        """Read from the class (`help(Workflows)`, `help(client.workflows)`): `self`, then the method's."""
        return _with_self(self.signature)

    def __call__(self, workflows: Any, /, *args: Any, **kwargs: Any) -> Any:
        """Called through the class like any method: `Workflows.get_flow(client.workflows, flow_id)`."""
        return self.__get__(workflows, type(workflows))(*args, **kwargs)

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
        _present(method, self.__name__, obj, self.__doc__, self.signature)
        obj.__dict__[self.__name__] = method  # bound once per resource object
        return method


class paged(Generic[P, T]):  # noqa: N801 - used like `property`
    """`iter_x = paged(list_x)`: every item of `list_x`'s pages, following `next` cursors.

    Takes exactly `list_x`'s parameters, in the same order (`limit` is the page size, default
    100; `cursor` where to start); anything else raises `ImbraceConfigurationError` at once,
    before a request is sent.
    """

    def __init__(self, listing: endpoint[P, SeekPage[T]]) -> None:
        self._build: Callable[..., Call[SeekPage[T]]] = listing._build
        self._listing = listing
        self.__doc__ = iter_doc(listing.__name__)

    def __set_name__(self, owner: type[Any], name: str) -> None:
        self.__name__ = name

    @property
    def __signature__(self) -> inspect.Signature:
        """Read from the class: `self`, then the listing's parameters; a pager comes back."""
        sync, other = self._pager_signature(Pager), self._pager_signature(AsyncPager)
        pager = sync.return_annotation | other.return_annotation
        return _with_self(sync.replace(return_annotation=pager))

    def __call__(self, workflows: Any, /, *args: Any, **kwargs: Any) -> Any:
        """Called through the class like any method: `Workflows.iter_runs(client.workflows)`."""
        return self.__get__(workflows, type(workflows))(*args, **kwargs)

    def _pager_signature(self, pager: type[Any]) -> inspect.Signature:
        listing = self._listing.signature
        parameters = [
            p.replace(default=ITER_PAGE_SIZE) if p.name == "limit" else p
            for p in listing.parameters.values()
        ]
        item = _item_type(listing.return_annotation)
        return listing.replace(parameters=parameters, return_annotation=pager[item])

    def _arguments(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
        """The call's arguments by name, or a clear error naming the listing's parameters."""
        signature = self._listing.signature
        try:
            bound = signature.bind(*args, **kwargs)
        except TypeError as exc:
            raise ImbraceConfigurationError(
                f"{self.__name__}() takes the parameters of {self._listing.__name__}() "
                f"({', '.join(signature.parameters)}; `limit` is the page size): {exc}."
            ) from exc
        return dict(bound.arguments)

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
            arguments = self._arguments(args, kwargs)
            arguments.setdefault("limit", ITER_PAGE_SIZE)
            self._build(obj, **arguments)  # checks every value now, before anything is sent

            def call_for(cursor: str | None) -> Call[SeekPage[T]]:
                return self._build(obj, **{**arguments, "cursor": cursor})

            return obj._pager(call_for, arguments.get("cursor"))

        asynchronous = inspect.iscoroutinefunction(obj._send)
        signature = self._pager_signature(AsyncPager if asynchronous else Pager)
        _present(method, self.__name__, obj, self.__doc__, signature)
        obj.__dict__[self.__name__] = method
        return method
