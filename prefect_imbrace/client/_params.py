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

ID_PATTERN = re.compile(r"^[0-9a-zA-Z]{21}$")


def guard(name: str, value: Any) -> str:
    """A path parameter must be a non-empty string (checked before anything is sent)."""
    if not isinstance(value, str) or not value.strip():
        raise ImbraceConfigurationError(
            f"Expected a non-empty value for `{name}` but received {value!r}"
        )
    return quote(value, safe="")


def guard_id(name: str, value: Any) -> str:
    """An engine id (the engine pattern-checks these and answers 400 otherwise)."""
    guard(name, value)
    if not ID_PATTERN.match(value):
        raise ImbraceConfigurationError(
            f"`{name}` must be an engine id: exactly 21 letters and digits, like "
            f"'ZurYxBCHMoYIzudlATavb' (received {value!r})"
        )
    return value


def str_list(
    name: str, value: str | Iterable[str] | None, *, ids: bool = False
) -> list[str] | None:
    """Accept one string or many; the engine takes repeated query keys (`status=A&status=B`)."""
    if value is None:
        return None
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


def limit_of(limit: int) -> int:
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < -1:
        raise ImbraceConfigurationError(f"`limit` must be an integer >= 1 (received {limit!r})")
    return limit


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


def json_payload(payload: Any) -> Any:
    """A webhook payload: models are dumped camelCase, None becomes `{}` (what the engine sees anyway)."""
    if payload is None:
        return {}
    if isinstance(payload, BaseModel):
        return payload.model_dump(by_alias=True, mode="json")
    try:
        json.dumps(payload)
    except (TypeError, ValueError) as exc:
        raise ImbraceConfigurationError(f"`payload` must be JSON-serialisable: {exc}") from exc
    return payload


def cell_value(value: Any) -> str:
    """Table cells are stored as strings."""
    return value if isinstance(value, str) else json.dumps(value)


def records_body(records: Iterable[Any]) -> list[list[dict[str, str]]]:
    """`[{fieldId: value, ...}]` or the wire form `[[{"fieldId", "value"}]]` -> the wire form."""
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
