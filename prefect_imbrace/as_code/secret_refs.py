"""Secret references inside step settings: `{$secret: {env: NAME}}` or `{$secret: {block: NAME}}`.

Some steps hold a secret in their own inputs, the webhook trigger's `authFields` above all
(`password`, `headerValue`). Files never hold it: they hold a reference, `apply` puts the value
in, `plan` compares the value but shows only `(secret)` / `(secret, different)`, and `export`
writes a reference to an environment variable instead of the value.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from typing import Any

from .models import SecretSource

REF = "$secret"
WEBHOOK_SECRET_FIELDS = ("password", "headerValue")
SHOWN = "(secret)"
SHOWN_CHANGED = "(secret, different)"


def is_ref(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {REF}


def source_of(value: dict[str, Any]) -> SecretSource:
    return SecretSource.model_validate(value[REF])


def substitute(value: Any, resolve: Callable[[SecretSource], Any]) -> Any:
    """A copy of `value` with every reference replaced by `resolve(source)`."""
    if is_ref(value):
        return resolve(source_of(value))
    if isinstance(value, dict):
        return {k: substitute(v, resolve) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute(v, resolve) for v in value]
    return value


def references(value: Any) -> list[SecretSource]:
    if is_ref(value):
        return [source_of(value)]
    if isinstance(value, dict):
        return [s for v in value.values() for s in references(v)]
    if isinstance(value, list):
        return [s for v in value for s in references(v)]
    return []


def masked(engine: Any, file: Any, resolved: Any) -> tuple[Any, Any]:
    """(engine value, file value) for display: secret positions shown as `(secret)` only."""
    if is_ref(file):
        return (SHOWN if engine == resolved else SHOWN_CHANGED), SHOWN
    if isinstance(file, dict) and isinstance(engine, dict) and isinstance(resolved, dict):
        shown_engine, shown_file = dict(engine), dict(file)
        for key, value in file.items():
            if key in engine:
                shown_engine[key], shown_file[key] = masked(engine[key], value, resolved.get(key))
            elif references(value):
                shown_file[key] = substitute(value, lambda _: SHOWN)
        return shown_engine, shown_file
    if isinstance(file, list) and isinstance(engine, list) and isinstance(resolved, list) and len(file) == len(engine):
        pairs = [masked(e, f, r) for e, f, r in zip(engine, file, resolved, strict=False)]
        return [p[0] for p in pairs], [p[1] for p in pairs]
    return engine, substitute(file, lambda _: SHOWN)


def inline_webhook_secrets(trigger: Any) -> list[str]:
    """`authFields` entries of a webhook trigger written as plain text (raw file data)."""
    if not isinstance(trigger, dict):
        return []
    if "catch_webhook" in trigger:
        fields = (trigger.get("catch_webhook") or {}).get("auth_fields") or {}
    else:
        fields = (((trigger.get("settings") or {}).get("input") or {}).get("authFields")) or {}
    if not isinstance(fields, dict):
        return []
    return [k for k in WEBHOOK_SECRET_FIELDS if isinstance(fields.get(k), str) and fields[k]]


def export_webhook_secrets(trigger: dict[str, Any], key: str) -> dict[str, Any]:
    """The trigger with its webhook `authFields` secrets replaced by environment references."""
    out = copy.deepcopy(trigger)
    fields = ((out.get("settings") or {}).get("input") or {}).get("authFields")
    if isinstance(fields, dict):
        for name in WEBHOOK_SECRET_FIELDS:
            if name in fields and not is_ref(fields[name]):
                variable = re.sub(r"[^A-Za-z0-9]+", "_", f"IMBRACE_SECRET_{key}_{name}").upper()
                fields[name] = {REF: {"env": variable}}
    return out
