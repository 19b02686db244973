"""The base every wire model shares: tolerant of new fields, camelCase on the wire."""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict
from pydantic.alias_generators import to_camel

from .._dict_reads import DictReads


class ImbraceModel(DictReads):
    """Snake_case attributes, camelCase aliases; unknown fields are kept, never rejected.

    `model_dump(by_alias=True, exclude_none=True)` gives the wire shape back; `model["wireName"]`
    and `model.get("wireName", default)` read it as the official SDK's dict answers are read.
    """

    model_config = ConfigDict(
        extra="allow",
        populate_by_name=True,
        alias_generator=to_camel,
        protected_namespaces=(),
    )

    def to_wire(self) -> dict[str, Any]:
        """The camelCase JSON body for this model (None values left out)."""
        return self.model_dump(by_alias=True, exclude_none=True, mode="json")
