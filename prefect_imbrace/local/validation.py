"""A small JSON-Schema checker that answers like the engine's AJV (Fastify) setup.

Behaviour copied from the engine (imbrace-api.md §1.4): unknown properties are removed
(`removeAdditional: "all"`), defaults are filled in, values are coerced like AJV's
`coerceTypes: "array"` (Fastify applies it to query strings and bodies alike: "5" -> 5,
5 -> "5", a scalar -> a one-element array), and the first problem becomes a 400
`FST_ERR_VALIDATION` whose message reads like AJV's, e.g. `body must have required property
'displayName'` or `params/id must match pattern "^[0-9a-zA-Z]{21}$"`.

The same schema dicts feed the served OpenAPI document, so the two never drift.
"""

from __future__ import annotations

import copy
import re
from functools import lru_cache
from typing import Any

from .errors import RequestValidationError

_TYPE_NAMES = {"string": str, "boolean": bool, "object": dict, "array": list}


@lru_cache(maxsize=256)
def _regex(pattern: str) -> re.Pattern[str]:
    # AJV runs JavaScript regexes, where `$` is the very end of the text; Python's `$` also
    # matches before a final newline, which would let "<21 chars>\n" pass as an id.
    if pattern.endswith("$") and not pattern.endswith("\\$"):
        pattern = pattern[:-1] + r"\Z"
    return re.compile(pattern)


def validate(schema: dict[str, Any], value: Any, where: str, *, coerce: bool = False) -> Any:
    """Check `value` against `schema`; returns the cleaned value or raises 400."""
    return _check(schema, value, where, coerce)


def _is_type(value: Any, name: str) -> bool:
    if name == "null":
        return value is None
    if name == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if name == "integer":
        return isinstance(value, int) and not isinstance(value, bool) or (
            isinstance(value, float) and value.is_integer()
        )
    return isinstance(value, _TYPE_NAMES[name])


def _coerce(value: Any, types: list[str]) -> Any:
    """AJV's `coerceTypes` for scalars: tried only when the value fits none of the types."""
    if any(_is_type(value, n) for n in types) or isinstance(value, (dict, list)):
        return value
    for name in types:
        if name == "string":
            if isinstance(value, bool):
                return "true" if value else "false"
            if isinstance(value, (int, float)):
                return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)
            if value is None:
                return ""
        elif name in ("number", "integer"):
            num: float | None = None
            if isinstance(value, bool) or value is None:
                num = float(bool(value))
            elif isinstance(value, str) and value.strip():
                try:
                    num = float(value)
                except ValueError:
                    num = None
            if num is not None and num == num and abs(num) != float("inf"):  # not NaN or infinite
                if name == "integer" and not num.is_integer():
                    continue
                return int(num) if num.is_integer() else num
        elif name == "boolean":
            if value in ("true", "false"):
                return value == "true"
            if value is None or (isinstance(value, (int, float)) and value in (0, 1)):
                return bool(value)
        elif name == "null" and value in ("", 0, False):
            return None
    return value


def _check(schema: dict[str, Any], value: Any, path: str, coerce: bool) -> Any:
    if "anyOf" in schema:
        for option in schema["anyOf"]:
            try:
                return _check(option, copy.deepcopy(value), path, coerce)
            except RequestValidationError:
                continue
        raise RequestValidationError(f"{path} must match a schema in anyOf")
    types = schema.get("type")
    if types is not None:
        names = types if isinstance(types, list) else [types]
        if coerce and "array" in names and not isinstance(value, list):
            value = [value]
        elif coerce and "array" not in names and isinstance(value, list) and len(value) == 1:
            value = value[0]  # AJV's coerceTypes "array" also unwraps a one-element array
        if coerce:
            value = _coerce(value, names)
        if not any(_is_type(value, n) for n in names):
            raise RequestValidationError(f"{path} must be {','.join(names)}")
        if "integer" in names and isinstance(value, float):
            value = int(value)
    if "const" in schema and value != schema["const"]:
        raise RequestValidationError(f"{path} must be equal to constant")
    if "enum" in schema and value not in schema["enum"]:
        raise RequestValidationError(f"{path} must be equal to one of the allowed values")
    if isinstance(value, str):
        if "minLength" in schema and len(value) < schema["minLength"]:
            raise RequestValidationError(
                f"{path} must NOT have fewer than {schema['minLength']} characters"
            )
        if "pattern" in schema and not _regex(schema["pattern"]).search(value):
            raise RequestValidationError(f'{path} must match pattern "{schema["pattern"]}"')
    if isinstance(value, (int, float)) and not isinstance(value, bool) and "minimum" in schema:
        if value < schema["minimum"]:
            raise RequestValidationError(f"{path} must be >= {schema['minimum']}")
    if isinstance(value, list) and "items" in schema:
        value = [_check(schema["items"], item, f"{path}/{i}", coerce) for i, item in enumerate(value)]
    if isinstance(value, dict) and ("properties" in schema or "required" in schema):
        props: dict[str, Any] = schema.get("properties", {})
        for name in schema.get("required", []):
            if name not in value:
                raise RequestValidationError(f"{path} must have required property '{name}'")
        if props and not schema.get("additionalProperties", False):
            value = {k: v for k, v in value.items() if k in props}
        else:
            value = dict(value)
        for name, sub in props.items():
            if name in value:
                value[name] = _check(sub, value[name], f"{path}/{name}", coerce)
            elif "default" in sub:
                value[name] = copy.deepcopy(sub["default"])
    return value
