"""mkdocs hook: the `prefect_imbrace` page lists every name of `prefect_imbrace.__all__`.

The package loads its names lazily, so the docstring renderer cannot see them statically. Each
name becomes a cross-reference to the object's canonical documentation; in strict mode an
unresolved reference fails the build, so this list can never point at nothing.
"""

from __future__ import annotations

import importlib

MARKER = "<!-- public-api -->"


def _row(package, name: str) -> str:
    obj = getattr(package, name)
    module = getattr(obj, "__module__", None) or package.__name__
    kind = "class" if isinstance(obj, type) else type(obj).__name__
    summary = ((getattr(obj, "__doc__", None) or "").strip().splitlines() or [""])[0]
    if isinstance(obj, type) and summary.startswith(("str(object", "Create and return")):
        summary = ""
    summary = summary.replace("|", "\\|")
    return f"| [`{name}`][{module}.{name}] | {kind} | `{module}` | {summary} |"


def on_page_markdown(markdown: str, page, config, files) -> str:
    if MARKER not in markdown:
        return markdown
    package = importlib.import_module("prefect_imbrace")
    rows = [_row(package, name) for name in package.__all__]
    table = "\n".join(["| Name | Kind | Defined in | Summary |", "|---|---|---|---|", *rows])
    return markdown.replace(MARKER, table)
