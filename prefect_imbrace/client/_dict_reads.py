"""Answers read like the official SDK's dicts: `page.get("data", [])`, `flow["id"]`.

The official SDK returns the engine's JSON as dicts; this client returns typed models. So that
code written for the SDK reads the models unchanged, every answer model also takes the dict
reads, by the wire (camelCase) name or the attribute name: `flow["projectId"]`,
`flow.get("version")`. A field the engine left out (None) reads as missing, as in the SDK's
dict, where the key would be absent. Nested values are models too, so `flow.get("version",
{}).get("displayName")` works as it does on the dict.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

__all__ = ["DictReads"]

_MISSING: Any = object()


class DictReads(BaseModel):
    """`model[key]` and `model.get(key, default)` by wire or attribute name (see module doc)."""

    def _read(self, key: str) -> Any:
        fields = type(self).model_fields
        if key in fields:
            return getattr(self, key)
        for name, info in fields.items():
            if info.alias == key:
                return getattr(self, name)
        extra = self.model_extra or {}
        return extra.get(key, _MISSING)

    def __getitem__(self, key: str) -> Any:
        value = self._read(key)
        if value is _MISSING or value is None:
            raise KeyError(key)
        return value

    def get(self, key: str, default: Any = None) -> Any:
        """The field named `key` (wire or attribute name), or `default` when absent or None."""
        value = self._read(key)
        return default if value is _MISSING or value is None else value
