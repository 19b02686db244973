"""`@activepieces/piece-data-mapper` Advanced Mapping: the output is the resolved `mapping`."""

from __future__ import annotations

from typing import Any

from .base import Action, Piece, StepCall, prop


async def advanced_mapping(call: StepCall) -> Any:
    return call.input.get("mapping")


PIECE = Piece(
    name="@activepieces/piece-data-mapper",
    display_name="Data Mapper",
    version="0.3.14",
    description="Map data from one shape to another",
    logo_url="https://cdn.activepieces.com/pieces/data-mapper.png",
    authors=["abuaboud"],
    categories=["CORE"],
    minimum_supported_release="0.20.0",
    actions=[
        Action("advanced_mapping", "Advanced Mapping", "Map data from one shape to another",
               {"mapping": prop("Mapping", "JSON", True)}, advanced_mapping),
    ],
)
