"""Query strings parsed the way the engine's `qs` does: repeats, `a[]=`, `a[0]=` and nesting."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl

_SEGMENT = re.compile(r"\[([^\[\]]*)\]")
_MAX_INDEX = 100  # qs's arrayLimit: bigger indexes make an object key instead of a list slot


def parse_qs(query: str) -> dict[str, Any]:
    """`status=A&status=B` -> {"status": ["A", "B"]}; `f[0][x]=1` -> {"f": [{"x": "1"}]}."""
    root: dict[str, Any] = {}
    for key, value in parse_qsl(query, keep_blank_values=True):
        bracket = key.find("[")
        if bracket <= 0:
            _assign(root, key, value)
            continue
        base, rest = key[:bracket], key[bracket:]
        segments = _SEGMENT.findall(rest)
        if not segments or "".join(f"[{s}]" for s in segments) != rest:
            _assign(root, key, value)
            continue
        node: dict[Any, Any] = root
        path = [base, *segments]
        for seg in path[:-1]:
            child = node.get(seg) if isinstance(node, dict) else None
            if not isinstance(child, dict):
                child = {} if not isinstance(child, list) else dict(enumerate(child))
                node[seg] = child
            node = child
        last = path[-1]
        if last == "":
            node[len(node)] = value  # `a[]=` appends
        else:
            _assign(node, last, value)
    return {k: _listify(v) for k, v in root.items()}


def _assign(node: dict[Any, Any], key: Any, value: Any) -> None:
    if key in node:
        current = node[key]
        node[key] = current + [value] if isinstance(current, list) else [current, value]
    else:
        node[key] = value


def _listify(value: Any) -> Any:
    if isinstance(value, dict):
        keys = list(value)
        if keys and all(isinstance(k, int) or (isinstance(k, str) and k.isdigit() and int(k) <= _MAX_INDEX) for k in keys):
            ordered = sorted(keys, key=int)
            return [_listify(value[k]) for k in ordered]
        return {str(k): _listify(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_listify(v) for v in value]
    return value
