"""Ids, clocks and SeekPage pagination shared by every backend area.

Cursor deviation (documented in docs/imbrace-local.md): the real engine compares only the
`created` column truncated to whole seconds, so rows created in the same second as the cursor
row can be skipped. Imbrace Local compares `(sort key in ms, id)` so paging never skips or
repeats a row. Cursors keep the engine's double-base64 `next_`/`prev_` wrapping; the inner text
is `created:<ms>:<id>` (a bare `created:<ms>` from a real engine is accepted too).
"""

from __future__ import annotations

import base64
import secrets
import time
from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from typing import Any

from ..clock import offset_ms
from ..errors import FrameworkError

_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
ID_PATTERN = "^[0-9a-zA-Z]{21}$"


def new_id() -> str:
    """A 21-character nanoid-style id from `[0-9A-Za-z]`, like the engine's `apId()`."""
    # One urandom call; bytes below 248 (= 4 * 62) keep every character equally likely.
    out: list[str] = []
    while len(out) < 21:
        out.extend(_ALPHABET[b % 62] for b in secrets.token_bytes(32) if b < 248)
    return "".join(out[:21])


_last_ms = 0


def now_ms() -> int:
    """Epoch milliseconds, strictly increasing within the process so `created` orders inserts."""
    global _last_ms
    ms = int(time.time() * 1000) + offset_ms()
    if ms <= _last_ms:
        ms = _last_ms + 1
    _last_ms = ms
    return ms


def clock_ms(not_before: int = 0) -> int:
    """Epoch milliseconds of the wall clock, for times that do not order rows (updated, start,
    finish). `now_ms` runs ahead of the clock under bursts (one ms per call): 500 runs started in
    a second pushed their finish times up to half a second into the future, and so their
    durations. `not_before` keeps a time from preceding the one it follows (start >= created)."""
    return max(int(time.time() * 1000) + offset_ms(), not_before)


def iso(ms: int) -> str:
    """ISO-8601 UTC with milliseconds and `Z`, the engine's timestamp format."""
    dt = datetime.fromtimestamp(ms / 1000, tz=timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def parse_iso_ms(value: str) -> int | None:
    """Epoch ms of an ISO-8601 string, or None when it is not a date."""
    text = value.strip().replace("Z", "+00:00")
    if " " in text and "T" in text:  # an unencoded "+hh:mm" offset arrives as a space
        text = text.replace(" ", "+")
    try:
        dt = datetime.fromisoformat(text)
    except (ValueError, AttributeError):
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return int(dt.timestamp() * 1000)


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def encode_cursor(direction: str, ms: int, entity_id: str) -> str:
    return _b64(direction + "_" + _b64(f"created:{ms}:{entity_id}"))


def decode_cursor(cursor: str) -> tuple[str, int, str | None]:
    """(direction, ms, id or None). A malformed cursor is a plain 500, as on the engine."""
    try:
        outer = base64.b64decode(cursor.encode(), validate=True).decode()
        direction, inner = outer.split("_", 1)
        if direction not in ("next", "prev"):
            raise ValueError(direction)
        parts = base64.b64decode(inner.encode(), validate=True).decode().split(":")
        if parts[0] != "created" or len(parts) not in (2, 3):
            raise ValueError(parts[0])
        return direction, int(parts[1]), (parts[2] if len(parts) == 3 else None)
    except Exception as exc:  # noqa: BLE001 - any decoding problem is the engine's plain 500
        raise FrameworkError(500, f"Invalid cursor: {cursor!r}") from exc


def paginate(
    items: Iterable[dict[str, Any]],
    key: Callable[[dict[str, Any]], tuple[int, str]],
    *,
    descending: bool,
    limit: int | None,
    cursor: str | None,
    shape: Callable[[dict[str, Any]], Any] = lambda x: x,
) -> dict[str, Any]:
    """One SeekPage over already-filtered items (imbrace-api.md §2.3 cursor rules)."""
    rows = sorted(items, key=key, reverse=descending)
    limit = page_size(limit)
    if limit is None:
        return {"data": [shape(r) for r in rows], "next": None, "previous": None}
    direction = None
    if cursor:
        direction, ms, cid = decode_cursor(cursor)
        mark = (ms, cid or "")

        def after(row: dict[str, Any]) -> bool:
            k = key(row) if cid else (key(row)[0], "")
            return k < mark if descending else k > mark

        def before(row: dict[str, Any]) -> bool:
            k = key(row) if cid else (key(row)[0], "")
            return k > mark if descending else k < mark

        if direction == "next":
            rows = [r for r in rows if after(r)]
        else:
            rows = [r for r in rows if before(r)]
            rows.reverse()
    page = rows[: limit + 1]
    more = len(page) > limit
    page = page[:limit]
    if direction == "prev":
        page.reverse()
    if not page:
        return {"data": [], "next": None, "previous": None}
    nxt = prev = None
    if more or direction == "prev":
        ms, cid = key(page[-1])
        nxt = encode_cursor("next", ms, cid)
    if direction == "next" or (direction == "prev" and more):
        ms, cid = key(page[0])
        prev = encode_cursor("prev", ms, cid)
    return {"data": [shape(r) for r in page], "next": nxt, "previous": prev}


def page_size(limit: float | None) -> int | None:
    """`limit` as the paginator reads it: -1 means all (None), 0 or absent means 100."""
    if limit == -1:
        return None
    size = int(limit or 0)
    return size if size > 0 else 100


def created_key(row: dict[str, Any]) -> tuple[int, str]:
    return (row["_createdMs"], row["id"])


def public(doc: dict[str, Any]) -> dict[str, Any]:
    """The wire view of a stored document: internal keys start with `_`."""
    return {k: v for k, v in doc.items() if not k.startswith("_")}
