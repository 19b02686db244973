"""Connection secrets: read from an environment variable or a Prefect Secret block, never a file.

The value only lives in memory for the upsert (and for the comparison `plan` makes with the
stored one); it is never printed, logged or written by export.
"""

from __future__ import annotations

import json
import os
from typing import Any, cast

from .loader import AsCodeFilesError, Declared, Problem
from .models import ConnectionSpec, SecretSource
from .secret_refs import substitute


def read_source(source: SecretSource) -> Any:
    """The secret an environment variable or a Prefect Secret block holds."""
    if source.env is not None:
        value: Any = os.environ.get(source.env)
        if value is None or value == "":
            raise ValueError(f"environment variable {source.env} is not set")
        return value
    from prefect.blocks.system import Secret

    assert source.block is not None
    try:
        block = cast("Secret[Any]", Secret.load(source.block))
    except ValueError as exc:
        raise ValueError(f"Prefect Secret block {source.block!r} cannot be loaded: {exc}") from None
    return block.get()


def _object(raw: Any, what: str) -> dict[str, Any]:
    if isinstance(raw, dict):
        return dict(raw)
    try:
        parsed = json.loads(raw)
    except (TypeError, ValueError):
        parsed = None
    if not isinstance(parsed, dict):
        raise ValueError(f"the secret must be a JSON object with {what}")
    return parsed


def connection_value(spec: ConnectionSpec) -> dict[str, Any]:
    """The `value` of the upsert body for this connection type."""
    if spec.type == "NO_AUTH":
        return {"type": "NO_AUTH"}
    assert spec.secret is not None
    raw = read_source(spec.secret)
    if spec.type == "SECRET_TEXT":
        if not isinstance(raw, str):
            raise ValueError("a SECRET_TEXT secret must be text")
        return {"type": "SECRET_TEXT", "secret_text": raw}
    if spec.type == "BASIC_AUTH":
        return {"type": "BASIC_AUTH", **_object(raw, '"username" and "password"')}
    if spec.type == "CUSTOM_AUTH":
        value = _object(raw, 'the piece\'s auth properties ("props" or the properties themselves)')
        return {"type": "CUSTOM_AUTH", "props": value.get("props", value)}
    return {**_object(raw, f"the {spec.type} value fields"), "type": spec.type}


def resolve_all(declared: Declared) -> dict[str, dict[str, Any]]:
    """Every declared connection's value; raises `AsCodeFilesError` naming each missing secret."""
    values: dict[str, dict[str, Any]] = {}
    problems: list[Problem] = []
    for name, spec in declared.connections.items():
        try:
            values[name] = connection_value(spec)
        except ValueError as exc:
            problems.append(Problem(declared.files[("connections", name)], f"connection {name!r}", str(exc)))
    if problems:
        raise AsCodeFilesError(problems)
    return values


def resolve_shapes(declared: Declared) -> dict[str, dict[str, Any]]:
    """Every flow's canonical tree with its `{$secret: ...}` references replaced by the values."""
    shapes: dict[str, dict[str, Any]] = {}
    problems: list[Problem] = []
    for key, shape in declared.shapes.items():
        try:
            shapes[key] = substitute(shape, read_source)
        except ValueError as exc:
            problems.append(Problem(declared.files[("flows", key)], f"flow {key!r}", str(exc)))
    if problems:
        raise AsCodeFilesError(problems)
    return shapes
