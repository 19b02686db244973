"""Compare the files with a project: what `apply` would create, update or delete, and why.

A plan is computed from GET requests only. Each change carries readable detail lines (old and
new value of every changed setting, step by step) and what `apply` needs to carry it out.
Secrets are compared but never shown: a changed secret reads `secret: (changed)`.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from typing import Any, Literal

from prefect_imbrace.client import Flow, ImbraceClient

from .loader import Declared
from .models import FlowSpec, McpServerSpec
from .secret_refs import SHOWN, SHOWN_CHANGED, masked, references
from .secrets import resolve_all, resolve_shapes
from .state import (
    METADATA_KEY,
    Current,
    field_spec,
    flow_key,
    flow_shape_of,
    is_published_current,
    read_current,
)
from .tree import connection_references, walk

Action = Literal["create", "update", "delete"]
KIND_ORDER = ("folder", "connection", "table", "flow", "mcp_server")


@dataclass
class Change:
    """One object `apply` would change, with readable detail lines."""

    action: Action
    kind: str
    name: str
    details: list[str] = field(default_factory=list)
    current: Any = None
    """The engine object (for updates and deletes)."""
    flags: dict[str, Any] = field(default_factory=dict)
    """What differs, for apply (e.g. `tree`, `folder`, `metadata`, `publish`, `status`)."""

    def title(self) -> str:
        sign = {"create": "+", "update": "~", "delete": "-"}[self.action]
        kind = "MCP server" if self.kind == "mcp_server" else self.kind
        return f"{sign} {self.action} {kind} {self.name!r}"


@dataclass
class Plan:
    """The changes, the objects already matching, and notes on what is left alone."""

    changes: list[Change] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    declared: Declared | None = None
    current: Current | None = None
    secrets: dict[str, dict[str, Any]] = field(default_factory=dict)
    shapes: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Flow key -> canonical tree with its secret references resolved (what apply sends)."""

    @property
    def has_changes(self) -> bool:
        return bool(self.changes)

    def counts(self) -> dict[str, int]:
        out = {"create": 0, "update": 0, "delete": 0}
        for change in self.changes:
            out[change.action] += 1
        out["unchanged"] = len(self.unchanged)
        return out

    def render(self) -> str:
        """The plan as text: one block per change, then a one-line count."""
        lines: list[str] = []
        for change in self.changes:
            lines.append(change.title())
            lines.extend(f"    {detail}" for detail in change.details)
        lines.extend(f"note: {note}" for note in self.notes)
        c = self.counts()
        lines.append(
            f"Plan: {c['create']} to create, {c['update']} to update, {c['delete']} to delete, "
            f"{c['unchanged']} unchanged."
            if self.changes else f"No changes: {c['unchanged']} object(s) match the files."
        )
        return "\n".join(lines)


# ------------------------------------------------------------------------------ diffs


SENSITIVE = frozenset(
    {"password", "headerValue", "secret_text", "client_secret", "access_token", "refresh_token", "api_key"}
)


def _redacted(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: SHOWN if k in SENSITIVE and not isinstance(v, (dict, list)) else _redacted(v)
                for k, v in value.items()}
    if isinstance(value, list):
        return [_redacted(v) for v in value]
    return value


def show(value: Any) -> str:
    if value is _ABSENT:
        return "(absent)"
    text = json.dumps(_redacted(value), sort_keys=True, ensure_ascii=False)
    return text if len(text) <= 160 else text[:157] + "..."


_ABSENT = object()


def diff_values(old: Any, new: Any, path: str = "") -> list[str]:
    """`path: old -> new` for every leaf that differs (dicts are walked, lists compared whole)."""
    if isinstance(old, dict) and isinstance(new, dict):
        lines: list[str] = []
        for key in sorted(set(old) | set(new), key=str):
            sub = f"{path}.{key}" if path else str(key)
            lines.extend(diff_values(old.get(key, _ABSENT), new.get(key, _ABSENT), sub))
        return lines
    if old == new:
        return []
    if path.rsplit(".", 1)[-1] in SENSITIVE and old is not _ABSENT and new is not _ABSENT:
        return [f"{path}: {SHOWN_CHANGED} -> {SHOWN}"]
    return [f"{path or 'value'}: {show(old)} -> {show(new)}"]


def _structure(steps: list[dict[str, Any]]) -> list[Any]:
    out: list[Any] = []
    for step in steps:
        if step.get("loopSteps") is not None:
            out.append({step["name"]: _structure(step["loopSteps"])})
        elif step.get("branchSteps") is not None:
            out.append({step["name"]: [_structure(b) for b in step["branchSteps"]]})
        else:
            out.append(step["name"])
    return out


def _bare(step: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in step.items() if k not in ("loopSteps", "branchSteps")}


def diff_shapes(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """Step-by-step differences of two canonical trees."""
    lines = [f"trigger: {line}" for line in diff_values(_bare(old["trigger"]), _bare(new["trigger"]))]
    if _structure(old["steps"]) != _structure(new["steps"]):
        lines.append(f"steps: {show(_structure(old['steps']))} -> {show(_structure(new['steps']))}")
    before = {s["name"]: _bare(s) for s in walk(old["steps"])}
    after = {s["name"]: _bare(s) for s in walk(new["steps"])}
    for name, step in after.items():
        if name not in before:
            lines.append(f"step {name}: added ({step.get('type')})")
        else:
            lines.extend(f"step {name}: {line}" for line in diff_values(before[name], step))
    lines.extend(f"step {name}: removed" for name in before if name not in after)
    return lines


# ------------------------------------------------------------------------------ per kind


def _flow_metadata(spec: FlowSpec) -> dict[str, Any]:
    return {**spec.metadata, METADATA_KEY: spec.key}


def _adoptable(spec: FlowSpec, current: Current, taken: set[str]) -> Flow | None:
    """A flow without a key, same name and folder, matched once: it is adopted, not duplicated."""
    matches = [
        flow for flow in current.flows
        if flow_key(flow) is None and flow.id not in taken
        and flow.display_name == spec.display_name
        and (current.folder_of(flow) or "").lower() == (spec.folder or "").lower()
    ]
    return matches[0] if len(matches) == 1 else None


def _masked_shapes(have: dict[str, Any], file: dict[str, Any], resolved: dict[str, Any]) -> tuple[Any, Any]:
    """Copies of both trees for display, each secret position shown as `(secret)` only."""
    have, file = copy.deepcopy(have), copy.deepcopy(file)
    file_steps = {s["name"]: s for s in [file["trigger"], *walk(file["steps"])]}
    resolved_steps = {s["name"]: s for s in [resolved["trigger"], *walk(resolved["steps"])]}
    have_steps = {s["name"]: s for s in [have["trigger"], *walk(have["steps"])]}
    for name, step in file_steps.items():
        if not references(step.get("settings")):
            continue
        engine_settings = have_steps[name]["settings"] if name in have_steps else {}
        shown_engine, shown_file = masked(engine_settings, step["settings"], resolved_steps[name]["settings"])
        step["settings"] = shown_file
        if name in have_steps:
            have_steps[name]["settings"] = shown_engine
    return have, file


def _plan_flow(
    spec: FlowSpec, file_shape: dict[str, Any], shape: dict[str, Any], flow: Flow | None, current: Current
) -> Change | None:
    if flow is None:
        return Change("create", "flow", spec.key, [f"{spec.display_name!r}, {len(list(walk(shape['steps'])))} step(s), {spec.status}"])
    details: list[str] = []
    flags: dict[str, Any] = {}
    have = flow_shape_of(flow)
    if have != shape:
        flags["tree"] = True
        details.extend(diff_shapes(*_masked_shapes(have, file_shape, shape)))
    if flow.display_name != spec.display_name:
        flags["name"] = True
        details.append(f"displayName: {show(flow.display_name)} -> {show(spec.display_name)}")
    folder = current.folder_of(flow)
    if (folder or "").lower() != (spec.folder or "").lower():
        flags["folder"] = True
        details.append(f"folder: {show(folder)} -> {show(spec.folder)}")
    metadata = _flow_metadata(spec)
    if (flow.metadata or {}) != metadata:
        flags["metadata"] = True
        details.extend(f"metadata.{line}" for line in diff_values(flow.metadata or {}, metadata))
    if spec.status != "DRAFT":
        if not is_published_current(flow) or flags.get("tree") or flags.get("name"):
            flags["publish"] = True
            if not flags.get("tree") and not flags.get("name"):
                details.append("publish: the latest version is not the published one")
        if flow.status != spec.status:
            flags["status"] = True
            details.append(f"status: {show(flow.status)} -> {show(spec.status)}")
    if not details:
        return None
    return Change("update", "flow", spec.key, details, current=flow, flags=flags)


def _mcp_tools_have(server: Any, keys_by_id: dict[str, str]) -> list[Any]:
    out: list[list[Any]] = []
    for tool in server.tools:
        if tool.type == "FLOW":
            out.append(["FLOW", keys_by_id.get(tool.flow_id or "", f"id:{tool.flow_id}")])
        elif tool.piece_metadata is not None:
            pm = tool.piece_metadata
            out.append(["PIECE", pm.piece_name, pm.action_name, pm.piece_version.lstrip("~^"),
                        pm.connection_external_id])
    return sorted(out, key=json.dumps)


def mcp_tools_want(spec: McpServerSpec) -> list[Any]:
    out: list[list[Any]] = []
    for tool in spec.tools:
        if tool.flow is not None:
            out.append(["FLOW", tool.flow])
        elif tool.piece is not None:
            out.append(["PIECE", tool.piece.piece_name, tool.piece.action_name,
                        tool.piece.piece_version.lstrip("~^"), tool.piece.connection_external_id])
    return sorted(out, key=json.dumps)


def _plan_folders(plan: Plan, declared: Declared, current: Current) -> None:
    for name in declared.folders:
        if name.lower() in current.folders:
            plan.unchanged.append(f"folder {name!r}")
        else:
            plan.changes.append(Change("create", "folder", name))


def _plan_connections(plan: Plan, declared: Declared, current: Current, client: ImbraceClient) -> None:
    for ext, conn_spec in declared.connections.items():
        conn = current.connections.get(ext)
        if conn is None:
            plan.changes.append(Change("create", "connection", ext, [f"{conn_spec.piece_name} ({conn_spec.type})"]))
            continue
        details = diff_values(
            {"displayName": conn.display_name, "pieceName": conn.piece_name, "type": conn.type,
             "metadata": conn.metadata or {}},
            {"displayName": conn_spec.display_name, "pieceName": conn_spec.piece_name,
             "type": conn_spec.type, "metadata": conn_spec.metadata or {}},
        )
        stored = client.workflows.get_connection(connection_id=conn.id).value
        if stored is None or stored.get_secret_value() != plan.secrets[ext]:
            details.append("secret: (changed)")
        if details:
            plan.changes.append(Change("update", "connection", ext, details, current=conn))
        else:
            plan.unchanged.append(f"connection {ext!r}")


def _plan_tables(plan: Plan, declared: Declared, current: Current) -> None:
    for name, table_spec in declared.tables.items():
        table = current.tables.get(name.lower())
        if table is None:
            plan.changes.append(Change("create", "table", name, [f"fields: {', '.join(f.name for f in table_spec.fields) or '(none)'}"]))
            continue
        have = {f.name: field_spec(f) for f in current.fields.get(table.id, [])}
        details: list[str] = []
        missing: list[str] = []
        for f in table_spec.fields:
            want = f.model_dump(exclude_none=True)
            if f.name not in have:
                missing.append(f.name)
                details.append(f"field {f.name}: added ({f.type})")
            elif have[f.name] != want:
                details.extend(f"field {f.name}: {line}" for line in diff_values(have[f.name], want))
        for extra in sorted(str(n) for n in set(have) - {f.name for f in table_spec.fields}):
            plan.notes.append(f"table {name!r} has field {extra!r}, which no file declares (left alone)")
        if details:
            plan.changes.append(Change("update", "table", name, details, current=table,
                                       flags={"missing": missing, "retype": len(details) != len(missing)}))
        else:
            plan.unchanged.append(f"table {name!r}")


def _plan_flows(plan: Plan, declared: Declared, current: Current, prune: bool) -> dict[str, str]:
    """Flow changes (and deletions with `prune`); returns flow id -> key of the matched flows."""
    by_key = current.by_key()
    taken = {flow.id for flow in by_key.values()}
    matched: dict[str, Flow] = {}
    for key, spec in declared.flows.items():
        flow = by_key.get(key) or _adoptable(spec, current, taken)
        if flow is not None:
            taken.add(flow.id)
            matched[key] = flow
        for ext in sorted(connection_references(declared.shapes[key])):
            if ext not in declared.connections and ext not in current.connections:
                plan.notes.append(f"flow {key!r} uses connection {ext!r}, which neither the files nor the project have")
        change = _plan_flow(spec, declared.shapes[key], plan.shapes[key], flow, current)
        if change is None:
            plan.unchanged.append(f"flow {key!r}")
        else:
            plan.changes.append(change)

    managed = declared.folder_names()
    for flow in current.flows:
        folder = current.folder_of(flow)
        if flow.id in taken or folder is None or folder.lower() not in managed:
            continue
        label = flow_key(flow) or flow.display_name or flow.id
        if prune:
            plan.changes.append(Change("delete", "flow", label, [f"in managed folder {folder!r}, not declared"], current=flow))
        else:
            plan.notes.append(f"flow {label!r} in managed folder {folder!r} is not declared (apply --prune deletes it)")

    keys_by_id = {flow.id: key for key, flow in matched.items()}
    keys_by_id.update({flow.id: key for key, flow in by_key.items()})
    return keys_by_id


def _plan_mcp_servers(plan: Plan, declared: Declared, current: Current, keys_by_id: dict[str, str]) -> None:
    for name, server_spec in declared.mcp_servers.items():
        server = current.mcp_servers.get(name)
        wanted = mcp_tools_want(server_spec)
        if server is None:
            plan.changes.append(Change("create", "mcp_server", name, [f"{len(wanted)} tool(s)"]))
            continue
        have_tools = _mcp_tools_have(server, keys_by_id)
        if have_tools != wanted:
            plan.changes.append(Change("update", "mcp_server", name, [f"tools: {show(have_tools)} -> {show(wanted)}"], current=server))
        else:
            plan.unchanged.append(f"MCP server {name!r}")


def compute_plan(
    client: ImbraceClient, declared: Declared, *, prune: bool = False
) -> Plan:
    """The changes `apply` would make to the client's project (GET requests only)."""
    secrets, shapes = resolve_all(declared), resolve_shapes(declared)
    current = read_current(client, table_names={n.lower() for n in declared.tables})
    plan = Plan(declared=declared, current=current, secrets=secrets, shapes=shapes)
    _plan_folders(plan, declared, current)
    _plan_connections(plan, declared, current, client)
    _plan_tables(plan, declared, current)
    keys_by_id = _plan_flows(plan, declared, current, prune)
    _plan_mcp_servers(plan, declared, current, keys_by_id)
    plan.changes.sort(key=lambda c: (KIND_ORDER.index(c.kind), c.action == "delete"))
    return plan
