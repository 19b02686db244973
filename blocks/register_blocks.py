"""Register the block types of prefect-imbrace with the Prefect API.

    uv run python blocks/register_blocks.py

Same effect as `prefect block register -m prefect_imbrace`: afterwards the Prefect UI offers
"Imbrace Credentials" and "Imbrace Flow" under Blocks -> Add. Safe to run again (an upgrade
of the package updates the schemas).
"""

from __future__ import annotations

import inspect
import sys
from importlib import import_module

from prefect.blocks.core import Block

MODULES = ("prefect_imbrace",)
"""Where the block classes are looked up: the package's public names, like
`prefect block register -m prefect_imbrace` (which registers the same two types)."""


def block_classes() -> list[type[Block]]:
    """Every block class the package exports, once each, in a stable order.

    Parametrised generics are skipped: pydantic places `JobBlock[ImbraceRunResult]` (the base
    of `ImbraceFlow`) in `prefect_imbrace.jobs`' namespace, and registering it had added a
    third, undocumented block type to the catalog.
    """
    found: dict[str, type[Block]] = {}
    for name in MODULES:
        for _, member in inspect.getmembers(import_module(name)):
            if (
                Block.is_block_class(member)
                and member.__module__.startswith("prefect_imbrace")
                and "[" not in member.__name__
            ):
                found[member.get_block_type_slug()] = member
    return [found[slug] for slug in sorted(found)]


def register_blocks() -> list[str]:
    """Register each block type and its schema; return their slugs."""
    slugs = []
    for cls in block_classes():
        cls.register_type_and_schema()
        slugs.append(cls.get_block_type_slug())
    return slugs


def main() -> int:
    for slug in register_blocks():
        print(f"Registered block type {slug!r}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
