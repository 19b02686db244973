"""`prefect-imbrace`: export, plan and apply Imbrace objects as code (a typer app).

Credentials come from the `IMBRACE_*` environment variables (`IMBRACE_API_KEY`,
`IMBRACE_GATEWAY_URL`, ...) or, with `--block NAME`, from a saved `ImbraceCredentials` block.
Exit codes: 0 success / no changes, 1 refused files or a failed object, 2 (`plan` only) there
are changes, so `prefect-imbrace plan DIR` can gate a CI job.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Optional, cast

import typer

from prefect_imbrace.client import ImbraceClient
from prefect_imbrace.exceptions import ImbraceError

from .apply import apply_plan
from .export import export_project
from .loader import AsCodeFilesError, load_directory
from .plan import compute_plan
from .schema import schema_text

app = typer.Typer(
    name="prefect-imbrace",
    help="Imbrace flows, folders, tables, connections and MCP servers as code.",
    no_args_is_help=True,
    add_completion=False,
)

BLOCK = typer.Option(None, "--block", help="Name of a saved ImbraceCredentials block (default: IMBRACE_* variables).")
PRUNE = typer.Option(False, "--prune", help="Also delete undeclared flows inside the folders the files manage.")


def make_client(block: Optional[str]) -> ImbraceClient:
    """The client for `--block NAME`, or from the `IMBRACE_*` environment variables."""
    if block:
        from prefect_imbrace.credentials import ImbraceCredentials

        return cast(ImbraceCredentials, ImbraceCredentials.load(block)).get_client()
    return ImbraceClient()


@contextmanager
def _exit_on_errors(verb: str) -> Iterator[None]:
    """Every command's failure path: refused files or an engine error -> the message, exit 1."""
    try:
        yield
    except ImbraceError as exc:
        typer.echo(str(exc) if isinstance(exc, AsCodeFilesError) else f"{verb} failed: {exc}", err=True)
        raise typer.Exit(code=1) from None


@app.command()
def export(
    directory: Path = typer.Argument(..., help="Where to write the files (created if missing)."),
    folder: Optional[str] = typer.Option(None, "--folder", help="Only this folder and its flows."),
    flow: Optional[str] = typer.Option(None, "--flow", help="Only the flow with this key."),
    block: Optional[str] = BLOCK,
) -> None:
    """Write every object of the project (or one folder or flow) to YAML files."""
    with _exit_on_errors("export"), make_client(block) as client:
        paths = export_project(client, directory, folder=folder, flow=flow)
    typer.echo(f"Wrote {len(paths)} file(s) to {directory}.")


@app.command()
def plan(
    directory: Path = typer.Argument(..., help="The directory of YAML files."),
    prune: bool = PRUNE,
    block: Optional[str] = BLOCK,
) -> None:
    """Show what apply would create, update or delete; exit 2 when there are changes."""
    with _exit_on_errors("plan"):
        declared = load_directory(directory)
        with make_client(block) as client:
            result = compute_plan(client, declared, prune=prune)
    typer.echo(result.render())
    if result.has_changes:
        raise typer.Exit(code=2)


@app.command()
def apply(
    directory: Path = typer.Argument(..., help="The directory of YAML files."),
    prune: bool = PRUNE,
    block: Optional[str] = BLOCK,
) -> None:
    """Make the project match the files; exit 1 if any object failed (it is rolled back)."""
    with _exit_on_errors("apply"):
        declared = load_directory(directory)
        with make_client(block) as client:
            computed = compute_plan(client, declared, prune=prune)
            typer.echo(computed.render())
            result = apply_plan(client, computed)
    typer.echo(result.summary())
    if not result.ok:
        raise typer.Exit(code=1)


@app.command()
def schema(path: Optional[Path] = typer.Argument(None, help="File to write (default: standard output).")) -> None:
    """Print or write the JSON Schema of the files."""
    if path is None:
        sys.stdout.write(schema_text())
    else:
        path.write_text(schema_text(), encoding="utf-8")


def main() -> None:
    app()
