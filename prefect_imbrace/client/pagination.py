"""`SeekPage[T]`, the engine's list envelope, and iterators that follow its `next` cursor.

The iterators are bounded: they stop at the end, at `max_items`, or if the engine ever hands
back a cursor it already gave (which would otherwise loop forever).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Generic, Optional, TypeVar

from pydantic import BaseModel, ConfigDict, Field

T = TypeVar("T")


class SeekPage(BaseModel, Generic[T]):
    """One page of a list: `data` plus opaque `next` / `previous` cursors (None at the ends)."""

    model_config = ConfigDict(extra="allow")

    data: list[T] = Field(default_factory=list)
    next: Optional[str] = None
    previous: Optional[str] = None

    @property
    def has_more(self) -> bool:
        return bool(self.next)


def _check_max_items(max_items: int | None) -> None:
    if max_items is not None and max_items < 0:
        from ..exceptions import ImbraceConfigurationError

        raise ImbraceConfigurationError(f"max_items must be >= 0 or None (got {max_items}).")


def iterate(
    fetch: Callable[[str | None], SeekPage[T]], *, max_items: int | None = None
) -> Iterator[T]:
    """Yield items page after page, calling `fetch(cursor)` (cursor None = first page)."""
    _check_max_items(max_items)
    count = 0
    cursor: str | None = None
    seen: set[str] = set()
    while max_items is None or count < max_items:
        page = fetch(cursor)
        for item in page.data:
            if max_items is not None and count >= max_items:
                return
            yield item
            count += 1
        if not page.next or page.next in seen:
            return
        seen.add(page.next)
        cursor = page.next


async def aiterate(
    fetch: Callable[[str | None], Awaitable[SeekPage[T]]], *, max_items: int | None = None
) -> AsyncIterator[T]:
    """Async twin of `iterate`."""
    _check_max_items(max_items)
    count = 0
    cursor: str | None = None
    seen: set[str] = set()
    while max_items is None or count < max_items:
        page = await fetch(cursor)
        for item in page.data:
            if max_items is not None and count >= max_items:
                return
            yield item
            count += 1
        if not page.next or page.next in seen:
            return
        seen.add(page.next)
        cursor = page.next
