"""Layering rules of Imbrace Local, checked on the source: it owns its wire shapes."""

from __future__ import annotations

import ast
from pathlib import Path

import prefect_imbrace.local

ROOT = Path(prefect_imbrace.local.__file__).parent


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            names.add("." * node.level + (node.module or ""))
    return names


def test_local_never_imports_the_client_or_prefect() -> None:
    for path in ROOT.rglob("*.py"):
        for name in imported_modules(path):
            assert not name.startswith(("prefect_imbrace.client", "prefect.")) and name != "prefect", (path, name)
            assert not (name.startswith("...") and name.lstrip(".").startswith("client")), (path, name)


def test_backends_do_not_import_fastapi() -> None:
    for path in (ROOT / "backend").rglob("*.py"):
        assert not any(n.split(".")[0] in ("fastapi", "starlette") for n in imported_modules(path)), path
