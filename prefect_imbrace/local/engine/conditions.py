"""Router conditions: outer list = OR of groups, inner list = AND of conditions.

Operands arrive already template-resolved. Comparisons follow the Activepieces engine's rules as
closely as known: text operators compare string forms (lower-cased unless `caseSensitive`),
number operators parse both sides (an unparsable side makes the condition false), date operators
parse ISO-8601 or epoch numbers (unparsable -> false), list operators need a list (a JSON text of
a list is accepted), EXISTS means not null/absent/"".
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from .templates import to_text

OPERATORS: frozenset[str] = frozenset(
    """TEXT_STARTS_WITH TEXT_CONTAINS TEXT_DOES_NOT_CONTAIN TEXT_EXACTLY_MATCHES TEXT_DOES_NOT_EXACTLY_MATCH
    TEXT_START_WITH TEXT_DOES_NOT_START_WITH TEXT_ENDS_WITH TEXT_DOES_NOT_END_WITH
    NUMBER_IS_GREATER_THAN NUMBER_IS_LESS_THAN NUMBER_IS_EQUAL_TO BOOLEAN_IS_TRUE BOOLEAN_IS_FALSE
    DATE_IS_BEFORE DATE_IS_EQUAL DATE_IS_AFTER LIST_CONTAINS LIST_DOES_NOT_CONTAIN LIST_IS_EMPTY
    LIST_IS_NOT_EMPTY EXISTS DOES_NOT_EXIST""".split()
)


def _text(value: Any, case_sensitive: bool) -> str:
    """A string as is, anything else as JSON (null -> "null"), like the engine's router."""
    text = value if isinstance(value, str) else "null" if value is None else to_text(value)
    return text if case_sensitive else text.lower()


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(value.strip() if isinstance(value, str) else value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) or (isinstance(value, str) and not value.strip()) else number


def _date(value: Any) -> datetime | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return datetime.fromtimestamp(value / 1000, tz=timezone.utc)
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip().replace("Z", "+00:00").replace("z", "+00:00")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def _list(value: Any) -> list | None:
    if isinstance(value, list):
        return value
    if isinstance(value, str):
        try:
            parsed = json.loads(value)
        except ValueError:
            return None
        return parsed if isinstance(parsed, list) else None
    return None


def _is_json(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        json.loads(value)
    except ValueError:
        return False
    return True


def _truthy(value: Any) -> bool:
    """JavaScript truthiness, as the engine uses `!!firstValue` ("false" is truthy there too)."""
    if isinstance(value, (dict, list)):
        return True
    return bool(value)


def _exists(value: Any) -> bool:
    return value is not None and value != ""


def _compare_numbers(first: Any, second: Any, check: Callable[[float, float], bool]) -> bool:
    a, b = _number(first), _number(second)
    return a is not None and b is not None and check(a, b)


def _compare_dates(first: Any, second: Any, check: Callable[[datetime, datetime], bool]) -> bool:
    a, b = _date(first), _date(second)
    return a is not None and b is not None and check(a, b)


def _list_contains(first: Any, second: Any, case_sensitive: bool) -> bool:
    items = _list(first)
    if items is None:  # the engine coerces a scalar (or unparsable text) to a one-item list
        items = [json.loads(first) if _is_json(first) else first]
    wanted = _text(second, case_sensitive)
    return any(_text(item, case_sensitive) == wanted for item in items)


TEXT_OPERATORS: frozenset[str] = frozenset(
    """TEXT_CONTAINS TEXT_DOES_NOT_CONTAIN TEXT_EXACTLY_MATCHES TEXT_DOES_NOT_EXACTLY_MATCH
    TEXT_STARTS_WITH TEXT_START_WITH TEXT_DOES_NOT_START_WITH TEXT_ENDS_WITH TEXT_DOES_NOT_END_WITH
    LIST_CONTAINS LIST_DOES_NOT_CONTAIN""".split()
)
"""The operators whose condition schema has `caseSensitive` (the engine's text conditions)."""


SINGLE_VALUE_OPERATORS: frozenset[str] = frozenset(
    "EXISTS DOES_NOT_EXIST BOOLEAN_IS_TRUE BOOLEAN_IS_FALSE LIST_IS_EMPTY LIST_IS_NOT_EMPTY".split())


def _filled(value: Any) -> bool:
    """A non-empty text once coerced as the engine's validator coerces (numbers, booleans)."""
    if isinstance(value, str):
        return bool(value)
    return isinstance(value, (int, float))  # bool is an int: "true"/"false"


def condition_is_valid(condition: Any) -> bool:
    """Whether a saved condition passes the engine's validity schema (values must be filled).

    A two-value operator needs `firstValue` and `secondValue`; a single-value one (EXISTS,
    BOOLEAN_IS_TRUE, LIST_IS_EMPTY, ...) only `firstValue`. An unknown operator is invalid.
    """
    if not isinstance(condition, dict):
        return False
    operator = condition.get("operator")
    if operator in SINGLE_VALUE_OPERATORS:
        return _filled(condition.get("firstValue"))
    return operator in OPERATORS and _filled(condition.get("firstValue")) and _filled(
        condition.get("secondValue"))


def store_conditions(step: dict) -> None:
    """Keep `caseSensitive` only on text conditions of a router step, in place.

    The engine validates a saved router against a union of condition schemas and removes the
    properties a schema does not name (removeAdditional), so a number, date or single-value
    condition is stored, and echoed in the step's `input`, without `caseSensitive`.
    """
    for branch in (step.get("settings") or {}).get("branches") or []:
        groups = branch.get("conditions") if isinstance(branch, dict) else None
        for group in groups if isinstance(groups, list) else []:
            for condition in group if isinstance(group, list) else []:
                if isinstance(condition, dict) and condition.get("operator") not in TEXT_OPERATORS:
                    condition.pop("caseSensitive", None)


def evaluate_condition(condition: dict) -> bool:
    """One condition; raises ValueError for an unknown operator (the step then fails)."""
    operator = condition.get("operator")
    first, second = condition.get("firstValue"), condition.get("secondValue")
    cs = bool(condition.get("caseSensitive", False))
    a, b = _text(first, cs), _text(second, cs)
    table: dict[str, Callable[[], bool]] = {
        "TEXT_CONTAINS": lambda: b in a,
        "TEXT_DOES_NOT_CONTAIN": lambda: b not in a,
        "TEXT_EXACTLY_MATCHES": lambda: a == b,
        "TEXT_DOES_NOT_EXACTLY_MATCH": lambda: a != b,
        "TEXT_START_WITH": lambda: a.startswith(b),
        "TEXT_STARTS_WITH": lambda: a.startswith(b),
        "TEXT_DOES_NOT_START_WITH": lambda: not a.startswith(b),
        "TEXT_ENDS_WITH": lambda: a.endswith(b),
        "TEXT_DOES_NOT_END_WITH": lambda: not a.endswith(b),
        "NUMBER_IS_GREATER_THAN": lambda: _compare_numbers(first, second, lambda x, y: x > y),
        "NUMBER_IS_LESS_THAN": lambda: _compare_numbers(first, second, lambda x, y: x < y),
        "NUMBER_IS_EQUAL_TO": lambda: _compare_numbers(first, second, lambda x, y: x == y)
        or (_number(first) is None and _number(second) is None and a == b),
        "BOOLEAN_IS_TRUE": lambda: _truthy(first),
        "BOOLEAN_IS_FALSE": lambda: not _truthy(first),
        "DATE_IS_BEFORE": lambda: _compare_dates(first, second, lambda x, y: x < y),
        "DATE_IS_EQUAL": lambda: _compare_dates(first, second, lambda x, y: x == y),
        "DATE_IS_AFTER": lambda: _compare_dates(first, second, lambda x, y: x > y),
        "LIST_CONTAINS": lambda: _list_contains(first, second, cs),
        "LIST_DOES_NOT_CONTAIN": lambda: not _list_contains(first, second, cs),
        "LIST_IS_EMPTY": lambda: _list(first) == [],
        "LIST_IS_NOT_EMPTY": lambda: bool(_list(first)),
        "EXISTS": lambda: _exists(first),
        "DOES_NOT_EXIST": lambda: not _exists(first),
    }
    if operator not in table:
        raise ValueError(f"unknown router operator {operator!r}")
    return table[operator]()


def evaluate_groups(groups: Any) -> bool:
    """OR over groups of AND (as in the engine: no groups -> false, an empty group -> true)."""
    if not isinstance(groups, list):
        return False
    return any(
        isinstance(group, list) and all(evaluate_condition(c) for c in group)
        for group in groups
    )
