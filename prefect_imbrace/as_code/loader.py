"""Read and check a directory of Imbrace files before any request is made.

Every problem is collected (not only the first) and names the file, the object and what to fix:
an unknown step type, a template that references a step the flow does not have, a secret
written inline, a folder or flow that no file declares, the same object declared twice.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from prefect_imbrace.exceptions import ImbraceConfigurationError

from .models import (
    BUILDER_ACTIONS,
    BUILDER_TRIGGERS,
    ENGINE_ACTION_TYPES,
    ENGINE_TRIGGER_TYPES,
    ConnectionSpec,
    FlowSpec,
    FolderSpec,
    ImbraceFile,
    McpServerSpec,
    TableSpec,
)
from .secret_refs import inline_webhook_secrets, references
from .tree import flow_shape, missing_references, walk

SECTIONS = {
    "folders": ("folder", "name"),
    "connections": ("connection", "external_id"),
    "tables": ("table", "name"),
    "flows": ("flow", "key"),
    "mcp_servers": ("MCP server", "name"),
}
INLINE_SECRET_KEYS = (
    "value", "secret_text", "password", "props", "client_secret", "token", "api_key",
    "access_token", "refresh_token",
)
SKIPPED_FILES = ("prefect.yaml", "prefect.yml")


@dataclass(frozen=True)
class Problem:
    """One reason a directory is refused."""

    file: str
    object: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.object}: {self.message}"


class AsCodeFilesError(ImbraceConfigurationError):
    """The files are refused before any request; `problems` lists each file, object and fix."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"{len(problems)} problem(s) in the Imbrace files:\n{lines}")


@dataclass
class Declared:
    """Everything a directory declares, by stable name, with the file each object came from."""

    directory: Path
    folders: dict[str, FolderSpec] = field(default_factory=dict)
    connections: dict[str, ConnectionSpec] = field(default_factory=dict)
    tables: dict[str, TableSpec] = field(default_factory=dict)
    flows: dict[str, FlowSpec] = field(default_factory=dict)
    mcp_servers: dict[str, McpServerSpec] = field(default_factory=dict)
    shapes: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Flow key -> canonical step tree (see `tree.py`)."""
    files: dict[tuple[str, str], str] = field(default_factory=dict)

    def folder_names(self) -> set[str]:
        return {name.lower() for name in self.folders}


def yaml_files(directory: Path) -> list[Path]:
    """The YAML files of a directory and its subdirectories, in a stable order."""
    files = [
        path for pattern in ("*.yaml", "*.yml") for path in directory.rglob(pattern)
        if path.name not in SKIPPED_FILES and not any(p.startswith(".") for p in path.parts)
    ]
    return sorted(files)


def _label(section: str, raw: Any, index: int) -> str:
    kind, key = SECTIONS[section]
    name = raw.get(key) if isinstance(raw, dict) else None
    return f"{kind} {name!r}" if name else f"{kind} #{index + 1}"


# ------------------------------------------------------------------------------ raw checks


def _check_step(raw: Any, where: str, out: list[str]) -> None:
    """Unknown step types, checked on the raw YAML so the message can say what to write."""
    if not isinstance(raw, dict):
        out.append(f"{where}: a step must be a mapping with `name` and `type` (or a builder key)")
        return
    name = raw.get("name", "?")
    if "type" in raw:
        if raw["type"] not in ENGINE_ACTION_TYPES:
            out.append(
                f"step {name!r}: unknown step type {raw['type']!r}; use one of "
                f"{', '.join(ENGINE_ACTION_TYPES)} (engine form) or a builder key "
                f"({', '.join(BUILDER_ACTIONS)})"
            )
        for key in ("nextAction", "firstLoopAction"):
            if isinstance(raw.get(key), dict):
                _check_step(raw[key], where, out)
        for child in raw.get("children") or []:
            if child is not None:
                _check_step(child, where, out)
        for nested in raw.get("loopSteps") or []:
            _check_step(nested, where, out)
        for branch in raw.get("branchSteps") or []:
            for nested in branch or []:
                _check_step(nested, where, out)
        return
    unknown = [k for k in raw if k not in ("name", "skip", *BUILDER_ACTIONS)]
    if unknown or not any(k in raw for k in BUILDER_ACTIONS):
        kind = unknown[0] if unknown else "(none)"
        out.append(
            f"step {name!r}: unknown step type {kind!r}; give `type:` ({', '.join(ENGINE_ACTION_TYPES)}) "
            f"with `settings`, or one builder key ({', '.join(BUILDER_ACTIONS)})"
        )
        return
    body = raw.get("loop") or {}
    for nested in (body.get("steps") or []) if isinstance(body, dict) else []:
        _check_step(nested, where, out)
    router = raw.get("router") or {}
    for branch in (router.get("branches") or []) if isinstance(router, dict) else []:
        for nested in (branch.get("steps") or []) if isinstance(branch, dict) else []:
            _check_step(nested, where, out)


def _raw_flow_problems(raw: dict[str, Any]) -> list[str]:
    out: list[str] = [
        f"trigger: a secret is written inline (`authFields.{name}`); secrets never go in these "
        f"files: write `{{$secret: {{env: VARIABLE_NAME}}}}` or `{{$secret: {{block: SECRET_BLOCK_NAME}}}}` "
        f"in its place"
        for name in inline_webhook_secrets(raw.get("trigger"))
    ]
    trigger = raw.get("trigger")
    if isinstance(trigger, dict):
        if "type" in trigger and trigger["type"] not in ENGINE_TRIGGER_TYPES:
            out.append(
                f"trigger: unknown trigger type {trigger['type']!r}; use PIECE_TRIGGER or EMPTY, "
                f"or the builder form `catch_webhook: {{...}}`"
            )
        elif "type" not in trigger and not any(k in trigger for k in BUILDER_TRIGGERS):
            out.append("trigger: give `type: PIECE_TRIGGER` with `settings`, or `catch_webhook: {}`")
        if isinstance(trigger.get("nextAction"), dict):
            _check_step(trigger["nextAction"], "trigger.nextAction", out)
    for index, step in enumerate(raw.get("steps") or []):
        _check_step(step, f"steps[{index}]", out)
    return out


def _raw_connection_problems(raw: dict[str, Any]) -> list[str]:
    inline = [key for key in INLINE_SECRET_KEYS if key in raw]
    secret = raw.get("secret")
    if secret is not None and not (
        isinstance(secret, dict) and set(secret) <= {"env", "block"}
    ):
        inline.append("secret")
    if not inline:
        return []
    return [
        f"a secret is written inline (`{inline[0]}`); secrets never go in these files: remove it "
        f"and write `secret: {{env: VARIABLE_NAME}}` (an environment variable) or "
        f"`secret: {{block: SECRET_BLOCK_NAME}}` (a Prefect Secret block)"
    ]


# ------------------------------------------------------------------------------ loading


def _parse_file(path: Path, rel: str, problems: list[Problem]) -> ImbraceFile | None:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        problems.append(Problem(rel, "file", f"not valid YAML: {exc}"))
        return None
    if not isinstance(data, dict):
        problems.append(Problem(rel, "file", "must be a mapping with folders/connections/tables/flows/mcp_servers"))
        return None
    before = len(problems)
    for key in data:
        if key not in SECTIONS:
            problems.append(Problem(rel, "file", f"unknown section {key!r}; use {', '.join(SECTIONS)}"))
    for section, checker in (("flows", _raw_flow_problems), ("connections", _raw_connection_problems)):
        for index, raw in enumerate(data.get(section) or []):
            if isinstance(raw, dict):
                for message in checker(raw):
                    problems.append(Problem(rel, _label(section, raw, index), message))
    if len(problems) > before:
        return None
    try:
        return ImbraceFile.model_validate(data)
    except ValidationError as exc:
        for error in exc.errors():
            loc = list(error["loc"])
            obj = "file"
            if len(loc) >= 2 and loc[0] in SECTIONS and isinstance(loc[1], int):
                items = data.get(loc[0]) or []
                raw = items[loc[1]] if loc[1] < len(items) else None
                obj = _label(str(loc[0]), raw, loc[1])
                loc = loc[2:]
            where = ".".join(str(part) for part in loc if part not in ("engine", "builder"))
            problems.append(Problem(rel, obj, f"{where or 'value'}: {error['msg']}"))
        return None


def _add(
    declared: Declared, problems: list[Problem], rel: str, section: str, name: str, obj: Any
) -> None:
    kind = SECTIONS[section][0]
    bucket: dict[str, Any] = getattr(declared, section)
    lookup = name.lower() if section in ("folders", "tables") else name
    if lookup in {k.lower() if section in ("folders", "tables") else k for k in bucket}:
        first = declared.files[(section, lookup)]
        problems.append(Problem(rel, f"{kind} {name!r}", f"declared twice (also in {first}); keep one"))
        return
    bucket[name] = obj
    declared.files[(section, lookup)] = rel


def _cross_checks(declared: Declared, problems: list[Problem]) -> None:
    folders = declared.folder_names()
    for key, flow in declared.flows.items():
        rel = declared.files[("flows", key)]
        if flow.folder is not None and flow.folder.lower() not in folders:
            problems.append(Problem(
                rel, f"flow {key!r}",
                f"folder {flow.folder!r} is not declared; add `folders: [{{name: {flow.folder}}}]` to a file",
            ))
        try:
            shape = flow_shape(flow)
        except (ImbraceConfigurationError, ValueError) as exc:
            problems.append(Problem(rel, f"flow {key!r}", str(exc)))
            continue
        names = [s["name"] for s in [shape["trigger"], *walk(shape["steps"])]]
        for dup in sorted({n for n in names if names.count(n) > 1}):
            problems.append(Problem(rel, f"flow {key!r}", f"step name {dup!r} is used twice; step names must be unique"))
        for step, template, missing in missing_references(shape):
            problems.append(Problem(
                rel, f"flow {key!r}",
                f"step {step!r}: template {template} references step {missing!r}, which this flow "
                f"does not have; fix the name or add the step",
            ))
        try:
            references(shape)
        except ValueError as exc:
            problems.append(Problem(rel, f"flow {key!r}", f"a `$secret` reference is malformed: {exc}"))
        declared.shapes[key] = shape
    for name, conn in declared.connections.items():
        if conn.type != "NO_AUTH" and conn.secret is None:
            problems.append(Problem(
                declared.files[("connections", name)], f"connection {name!r}",
                "needs `secret: {env: VARIABLE_NAME}` or `secret: {block: SECRET_BLOCK_NAME}`",
            ))
    for name, server in declared.mcp_servers.items():
        for tool in server.tools:
            if tool.flow is not None and tool.flow not in declared.flows:
                problems.append(Problem(
                    declared.files[("mcp_servers", name)], f"MCP server {name!r}",
                    f"tool flow {tool.flow!r} is not a declared flow key",
                ))


def load_directory(directory: str | os.PathLike[str]) -> Declared:
    """Parse and check every YAML file under `directory`; raises `AsCodeFilesError` if any is bad."""
    root = Path(directory)
    if not root.is_dir():
        raise AsCodeFilesError([Problem(str(root), "directory", "does not exist or is not a directory")])
    declared = Declared(directory=root)
    problems: list[Problem] = []
    files = yaml_files(root)
    if not files:
        problems.append(Problem(str(root), "directory", "holds no .yaml files"))
    for path in files:
        rel = str(path.relative_to(root))
        parsed = _parse_file(path, rel, problems)
        if parsed is None:
            continue
        for folder in parsed.folders:
            _add(declared, problems, rel, "folders", folder.name, folder)
        for conn in parsed.connections:
            _add(declared, problems, rel, "connections", conn.external_id, conn)
        for table in parsed.tables:
            _add(declared, problems, rel, "tables", table.name, table)
        for flow in parsed.flows:
            _add(declared, problems, rel, "flows", flow.key, flow)
        for server in parsed.mcp_servers:
            _add(declared, problems, rel, "mcp_servers", server.name, server)
    if not problems:
        _cross_checks(declared, problems)
    if problems:
        raise AsCodeFilesError(problems)
    return declared
