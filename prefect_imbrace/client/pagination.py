"""`SeekPage[T]`, the engine's list envelope, and iterators that follow its `next` cursor.

The iterators are bounded: they stop at the end, at `max_items`, or if the engine ever hands
back a cursor it already gave (which would otherwise loop forever).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Generic, Optional, TypeVar

from pydantic import ConfigDict, Field

from ._dict_reads import DictReads

T = TypeVar("T")


class SeekPage(DictReads, Generic[T]):
    """One page of a list: `data` plus opaque `next` / `previous` cursors (None at the ends).

    Also read as the official SDK's dict: `page.get("data", [])`, `page["next"]`.
    """

    model_config = ConfigDict(extra="allow")

    data: list[T] = Field(default_factory=list)
    next: Optional[str] = None
    previous: Optional[str] = None

    @property
    def has_more(self) -> bool:
        return bool(self.next)


class _Walk(Generic[T]):
    """Where a paging loop stands (the one logic under `iterate` and `aiterate`): the cursor to
    fetch next, how many items it may still take, and the cursors already followed."""

    def __init__(self, start: str | None, max_items: int | None):
        if max_items is not None and (not isinstance(max_items, int) or max_items < 0):
            from ..exceptions import ImbraceConfigurationError

            raise ImbraceConfigurationError(
                f"max_items must be an integer >= 0 or None (got {max_items!r})."
            )
        self.cursor = start
        self.left = max_items
        self.seen: set[str] = set()
        self.more = max_items != 0

    def take(self, page: SeekPage[T]) -> list[T]:
        """The items of `page` the walk still takes; then moves on to its `next`, if new."""
        items = page.data if self.left is None else page.data[: self.left]
        if self.left is not None:
            self.left -= len(items)
        following = page.next
        self.more = bool(following) and following not in self.seen and self.left != 0
        if following:
            self.seen.add(following)
            self.cursor = following
        return items


def iterate(
    fetch: Callable[[str | None], SeekPage[T]],
    *,
    start: str | None = None,
    max_items: int | None = None,
) -> Iterator[T]:
    """Yield items page after page, calling `fetch(cursor)` from `start` (None = first page)."""
    walk: _Walk[T] = _Walk(start, max_items)
    while walk.more:
        yield from walk.take(fetch(walk.cursor))


async def aiterate(
    fetch: Callable[[str | None], Awaitable[SeekPage[T]]],
    *,
    start: str | None = None,
    max_items: int | None = None,
) -> AsyncIterator[T]:
    """Async twin of `iterate`."""
    walk: _Walk[T] = _Walk(start, max_items)
    while walk.more:
        for item in walk.take(await fetch(walk.cursor)):
            yield item


class Pager(Iterator[T]):
    """What `Workflows.iter_*` return: an iterator over every item (`for`, `next()`), or
    `take(n)` for at most n. Nothing is sent until the first item is asked for."""

    def __init__(self, fetch: Callable[[str | None], SeekPage[T]], start: str | None = None):
        self._fetch = fetch
        self._start = start
        self._items: Iterator[T] | None = None

    def __next__(self) -> T:
        if self._items is None:
            self._items = iterate(self._fetch, start=self._start)
        return next(self._items)

    def take(self, max_items: int) -> Iterator[T]:
        """At most `max_items` items (no page after the one that completes them is read)."""
        return iterate(self._fetch, start=self._start, max_items=max_items)


class AsyncPager(AsyncIterator[T]):
    """What `AsyncWorkflows.iter_*` return: an async iterator over every item (`async for`),
    or `take(n)` for at most n."""

    def __init__(
        self, fetch: Callable[[str | None], Awaitable[SeekPage[T]]], start: str | None = None
    ):
        self._fetch = fetch
        self._start = start
        self._items: AsyncIterator[T] | None = None

    async def __anext__(self) -> T:
        if self._items is None:
            self._items = aiterate(self._fetch, start=self._start)
        return await anext(self._items)

    def take(self, max_items: int) -> AsyncIterator[T]:
        """At most `max_items` items (no page after the one that completes them is read)."""
        return aiterate(self._fetch, start=self._start, max_items=max_items)
