"""Argument guards and query/body encoding shared by the sync and async resources (no I/O)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from typing import Any
from urllib.parse import quote

from pydantic import BaseModel

from ..exceptions import ImbraceConfigurationError

ID_PATTERN = re.compile(r"[0-9a-zA-Z]{21}")  # always fullmatch: `$` would admit a trailing newline


def guard(name: str, value: Any) -> str:
    """A path parameter must be a non-empty string (checked before anything is sent)."""
    if not isinstance(value, str) or not value.strip():
        raise ImbraceConfigurationError(
            f"Expected a non-empty value for `{name}` but received {value!r}"
        )
    try:
        return quote(value, safe="")
    except UnicodeEncodeError as exc:  # lone surrogates cannot be sent in a URL
        raise ImbraceConfigurationError(
            f"`{name}` must be valid Unicode text (received {value!r})"
        ) from exc


def guard_id(name: str, value: Any) -> str:
    """An engine id (the engine pattern-checks these and answers 400 otherwise)."""
    if isinstance(value, str) and ID_PATTERN.fullmatch(value):
        return value  # the common case: a well-formed id needs no quoting or further checks
    guard(name, value)  # a non-empty string, or a clear error
    if not ID_PATTERN.fullmatch(value):
        raise ImbraceConfigurationError(
            f"`{name}` must be an engine id: exactly 21 letters and digits, like "
            f"'ZurYxBCHMoYIzudlATavb' (received {value!r})"
        )
    return str(value)


def str_list(
    name: str, value: str | Iterable[str] | None, *, ids: bool = False
) -> list[str] | None:
    """Accept one string or many; the engine takes repeated query keys (`status=A&status=B`)."""
    if value is None:
        return None
    if not isinstance(value, (str, Iterable)) or isinstance(value, (bytes, Mapping)):
        raise ImbraceConfigurationError(
            f"`{name}` must be a string or a list of strings (received {value!r})"
        )
    items = [value] if isinstance(value, str) else list(value)
    for item in items:
        if not isinstance(item, str) or not item:
            raise ImbraceConfigurationError(
                f"`{name}` must hold non-empty strings (received {item!r})"
            )
        if ids:
            guard_id(name, item)
    return items


def iso(name: str, value: datetime | str | None) -> str | None:
    """ISO-8601 UTC with milliseconds and `Z`, the engine's timestamp format."""
    if value is None or isinstance(value, str):
        return value
    if not isinstance(value, datetime):
        raise ImbraceConfigurationError(
            f"`{name}` must be a datetime or an ISO-8601 string (received {value!r})"
        )
    if value.tzinfo is None or value.utcoffset() is None:
        raise ImbraceConfigurationError(
            f"`{name}` must be timezone-aware (e.g. datetime.now(timezone.utc)); received the naive {value!r}"
        )
    utc = value.astimezone(timezone.utc)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def without_none(**values: Any) -> dict[str, Any]:
    """The given keyword values, minus those that are None (optional body fields)."""
    return {key: value for key, value in values.items() if value is not None}


def limit_of(limit: int) -> int:
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < -1:
        raise ImbraceConfigurationError(f"`limit` must be an integer >= 1 (received {limit!r})")
    return limit


def one_of(method: str, **named: Any) -> Any:
    """The one argument given among aliases (ours and the official SDK's name for the same thing)."""
    given = [(name, value) for name, value in named.items() if value is not None]
    if len(given) != 1:
        names = " or ".join(f"{name}=" for name in named)
        what = "both" if given else "neither"
        raise ImbraceConfigurationError(f"{method} takes one of {names} (got {what}).")
    return given[0][1]


def body_of(name: str, body: Any) -> dict[str, Any]:
    """A request body given as a typed model (camelCase on the wire) or as a plain camelCase dict."""
    if body is None:
        return {}
    to_wire = getattr(body, "to_wire", None)
    if callable(to_wire):
        return dict(to_wire())
    if isinstance(body, BaseModel):
        return body.model_dump(by_alias=True, exclude_none=True, mode="json")
    if isinstance(body, Mapping):
        return dict(body)
    raise ImbraceConfigurationError(
        f"`{name}` must be a model or a dict (received {type(body).__name__})"
    )


_HEADER_NAME = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")


def header_items(headers: Mapping[str, str]) -> dict[str, str]:
    """Extra request headers, lower-cased; names are HTTP tokens, values single-line latin-1 text."""
    if not isinstance(headers, Mapping):
        raise ImbraceConfigurationError(
            f"`headers` must be a dict of str to str (received {type(headers).__name__})"
        )
    items: dict[str, str] = {}
    for name, value in headers.items():
        if not isinstance(name, str) or not _HEADER_NAME.match(name):
            raise ImbraceConfigurationError(
                f"`headers`: {name!r} is not a valid header name (letters, digits and -_.!#$%&'*+^`|~)"
            )
        if not isinstance(value, str) or any(c in value for c in "\r\n\0"):
            raise ImbraceConfigurationError(
                f"`headers`: the value of {name!r} must be single-line text (received {type(value).__name__})"
            )
        try:
            value.encode("latin-1")
        except UnicodeEncodeError as exc:
            raise ImbraceConfigurationError(
                f"`headers`: the value of {name!r} must be latin-1 text; percent-encode other characters"
            ) from exc
        items[name.lower()] = value
    return items


def json_payload(payload: Any) -> Any:
    """A webhook payload: models are dumped camelCase, None becomes `{}` (what the engine sees anyway)."""
    if payload is None:
        return {}
    if isinstance(payload, BaseModel):
        return payload.model_dump(by_alias=True, mode="json")
    try:  # as the transport will encode it: no NaN/Infinity, UTF-8 (no lone surrogates)
        json.dumps(payload, allow_nan=False, ensure_ascii=False).encode("utf-8")
    except (TypeError, ValueError, RecursionError) as exc:
        raise ImbraceConfigurationError(f"`payload` must be JSON-serialisable: {exc}") from exc
    return payload


def cell_value(value: Any) -> str:
    """Table cells are stored as strings."""
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ImbraceConfigurationError(
            f"A record cell must be text or JSON-serialisable (received {value!r})"
        ) from exc


def records_body(records: Iterable[Any]) -> list[list[dict[str, str]]]:
    """`[{fieldId: value, ...}]` or the wire form `[[{"fieldId", "value"}]]` -> the wire form."""
    if isinstance(records, (str, bytes, Mapping)) or not isinstance(records, Iterable):
        raise ImbraceConfigurationError(
            f"`records` must be a list of records (received {type(records).__name__})"
        )
    rows: list[list[dict[str, str]]] = []
    for row in records:
        if isinstance(row, Mapping):
            rows.append([{"fieldId": str(k), "value": cell_value(v)} for k, v in row.items()])
        elif isinstance(row, Iterable):
            cells = []
            for cell in row:
                if not isinstance(cell, Mapping) or "fieldId" not in cell:
                    raise ImbraceConfigurationError(
                        "A record is a dict {field_id: value} or a list of {'fieldId', 'value'} cells."
                    )
                cells.append({"fieldId": cell["fieldId"], "value": cell_value(cell.get("value"))})
            rows.append(cells)
        else:
            raise ImbraceConfigurationError(
                "A record is a dict {field_id: value} or a list of cells."
            )
    return rows
