"""`{{ ... }}` templates in step inputs, resolved against the outputs of earlier steps.

Activepieces evaluates each `{{ }}` as a JavaScript expression over the step outputs; Imbrace
Local supports the part flows actually use: a path of names, `['key']` and `[0]` indexes
(`trigger.body.items[0]['id']`, `step_1.status`, `loop_1.item`, `connections['ext']`).
`step_1.output.x` is accepted as an alias of `step_1.x` (the reference documents that form).
A string that is exactly one template keeps the raw value; mixed text gets JSON-ish text; a
missing or null value is the empty string either way (the engine's `result ?? ''`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from .errors import StepFailed

_TEMPLATE = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)
_TOKEN = re.compile(
    r"""\s*(?:
        \.\s*(?P<attr>[A-Za-z_$][\w$]*)
      | \[\s*(?P<index>-?\d+)\s*\]
      | \[\s*'(?P<sq>(?:[^'\\]|\\.)*)'\s*\]
      | \[\s*"(?P<dq>(?:[^"\\]|\\.)*)"\s*\]
    )""",
    re.VERBOSE,
)
_ROOT = re.compile(r"\s*(?P<root>[A-Za-z_$][\w$]*)")

MISSING = object()
REDACTED = "**REDACTED**"


class Scope:
    """Names a template may start with: `trigger`, step names, `connections`."""

    def __init__(self, values: Mapping[str, Any], connections: Mapping[str, dict] | None = None,
                 censor: bool = False):
        self.values = values
        self.connections = connections or {}
        self.censor = censor

    def child(self, extra: Mapping[str, Any]) -> Scope:
        return Scope({**self.values, **extra}, self.connections, self.censor)


def parse_path(expr: str) -> tuple[str, list[str | int]]:
    """Split `a.b['c'][0]` into ("a", ["b", "c", 0]); a clear failure for anything else."""
    match = _ROOT.match(expr)
    if not match:
        raise _unsupported(expr)
    pos, path = match.end(), []
    while pos < len(expr.rstrip()):
        token = _TOKEN.match(expr, pos)
        if not token:
            raise _unsupported(expr)
        if token.group("attr") is not None:
            path.append(token.group("attr"))
        elif token.group("index") is not None:
            path.append(int(token.group("index")))
        else:
            quoted = token.group("sq") if token.group("sq") is not None else token.group("dq")
            path.append(re.sub(r"\\(.)", r"\1", quoted))
        pos = token.end()
    return match.group("root"), path


def _unsupported(expr: str) -> StepFailed:
    return StepFailed(
        f"Imbrace Local cannot evaluate the template {{{{{expr.strip()}}}}}: only paths such as "
        "trigger.body.x, step_1.field, step_1['a'][0], loop_1.item or connections['id'] are supported"
    )


def _walk(value: Any, path: list[str | int]) -> Any:
    for key in path:
        if isinstance(value, Mapping) and isinstance(key, str):
            value = value.get(key, MISSING)
        elif isinstance(value, list) and isinstance(key, int):
            value = value[key] if -len(value) <= key < len(value) else MISSING
        elif isinstance(value, list) and key == "length":
            value = len(value)
        elif isinstance(value, Mapping) and isinstance(key, int):
            value = value.get(str(key), MISSING)
        else:
            return MISSING
        if value is MISSING:
            return MISSING
    return value


def _connection_value(scope: Scope, path: list[str | int]) -> Any:
    if not path:
        raise StepFailed("a template must name the connection: {{connections['external-id']}}")
    external_id, rest = str(path[0]), path[1:]
    if external_id not in scope.connections:
        raise StepFailed(f"connection '{external_id}' was not found in this project")
    if scope.censor:
        return REDACTED
    value: Any = scope.connections[external_id]
    kind = value.get("type") if isinstance(value, Mapping) else None
    if kind == "SECRET_TEXT":
        value = value.get("secret_text")
    elif kind == "CUSTOM_AUTH":
        value = value.get("props", {})
    return _walk(value, rest)


def evaluate(expr: str, scope: Scope) -> Any:
    """The value of one expression (without braces); MISSING when the path leads nowhere."""
    root, path = parse_path(expr)
    if root == "connections" and root not in scope.values:
        return _connection_value(scope, path)
    value = scope.values.get(root, MISSING)
    if value is MISSING:
        return MISSING
    if path and path[0] == "output" and not (isinstance(value, Mapping) and "output" in value):
        path = path[1:]
    return _walk(value, path)


def to_text(value: Any) -> str:
    """How a value reads inside mixed text (JavaScript-like, as Activepieces renders it)."""
    if value is MISSING or value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (int, float)):
        return str(value)
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def resolve_string(text: str, scope: Scope) -> Any:
    """A string that is exactly one template gives the value itself, anything else text.

    As in the engine (`result ?? ''`), a value that is missing (an absent key, a branch that did
    not run, a failed step) or null becomes the empty string, alone or inside text.
    """
    if "{{" not in text:
        return text
    tokens = _TEMPLATE.findall(text)
    if len(tokens) == 1 and text == "{{" + tokens[0] + "}}":
        value = evaluate(tokens[0], scope)
        return "" if value is MISSING or value is None else value
    return _TEMPLATE.sub(lambda m: to_text(evaluate(m.group(1), scope)), text)


def resolve(value: Any, scope: Scope) -> Any:
    """Resolve every template inside `value` (dicts and lists recursively); a new object."""
    if isinstance(value, str):
        return resolve_string(value, scope)
    if isinstance(value, Mapping):
        return {key: resolve(item, scope) for key, item in value.items()}
    if isinstance(value, list):
        return [resolve(item, scope) for item in value]
    return value
