"""Write a project's objects to YAML files: stably ordered, no ids, no timestamps, no secrets.

Layout: `folders.yaml`, `connections/<externalId>.yaml`, `tables/<name>.yaml`,
`flows/<key>.yaml`, `mcp_servers/<name>.yaml`, and `imbrace.schema.json` (the JSON Schema the
files point editors at). A flow without a key gets one from its name; a connection's secret is
written as the environment variable `apply` will read it from (`IMBRACE_SECRET_<EXTERNAL_ID>`),
never as its value. Steps are written in the engine's own shape, so every flow round-trips.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import yaml

from prefect_imbrace.client import Flow, ImbraceClient

from .schema import SCHEMA_FILE, schema_text
from .secret_refs import export_webhook_secrets
from .state import METADATA_KEY, Current, field_spec, flow_key, flow_shape_of, read_current, slug


def _sorted(value: Any) -> Any:
    """Dicts with sorted keys, all the way down: two tenants give byte-identical files."""
    if isinstance(value, dict):
        return {k: _sorted(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [_sorted(v) for v in value]
    return value


def _step_out(step: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {k: step[k] for k in ("name", "type", "displayName", "skip") if k in step}
    out["settings"] = _sorted(step.get("settings") or {})
    if step.get("loopSteps") is not None:
        out["loopSteps"] = [_step_out(s) for s in step["loopSteps"]]
    if step.get("branchSteps") is not None:
        out["branchSteps"] = [[_step_out(s) for s in branch] for branch in step["branchSteps"]]
    return out


def secret_variable(external_id: str) -> str:
    """The environment variable an exported connection reads its secret from."""
    return "IMBRACE_SECRET_" + re.sub(r"[^A-Za-z0-9]+", "_", external_id).strip("_").upper()


def flow_document(flow: Flow, key: str, folder: str | None) -> dict[str, Any]:
    shape = flow_shape_of(flow)
    status = "DRAFT" if flow.published_version_id is None else (flow.status or "DISABLED")
    doc: dict[str, Any] = {"key": key, "display_name": flow.display_name or key}
    if folder is not None:
        doc["folder"] = folder
    doc["status"] = status
    metadata = {k: v for k, v in (flow.metadata or {}).items() if k != METADATA_KEY}
    if metadata:
        doc["metadata"] = _sorted(metadata)
    doc["trigger"] = _step_out(export_webhook_secrets(shape["trigger"], key))
    doc["steps"] = [_step_out(s) for s in shape["steps"]]
    return doc


def _keys(flows: list[Flow]) -> dict[str, str]:
    """Flow id -> key: the stored key, or a unique one made from the name (stable order)."""
    keys: dict[str, str] = {}
    used = {k for f in flows if (k := flow_key(f))}
    for flow in sorted(flows, key=lambda f: (f.display_name or "", str(f.created), f.id)):
        key = flow_key(flow)
        if key is None:
            base = slug(flow.display_name or "flow")
            key, n = base, 2
            while key in used:
                key, n = f"{base}-{n}", n + 1
            used.add(key)
        keys[flow.id] = key
    return keys


def _write(path: Path, document: dict[str, Any], schema_ref: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=100)
    path.write_text(f"# yaml-language-server: $schema={schema_ref}\n{text}", encoding="utf-8")
    return path


def export_current(
    current: Current,
    directory: str | os.PathLike[str],
    *,
    folder: str | None = None,
    flow: str | None = None,
) -> list[Path]:
    """Write the objects of `current` (all, one folder's flows, or one flow by key) under `directory`."""
    root = Path(directory)
    root.mkdir(parents=True, exist_ok=True)
    written = [root / SCHEMA_FILE]
    written[0].write_text(schema_text(), encoding="utf-8")
    keys = _keys(current.flows)
    flows = sorted(current.flows, key=lambda f: keys[f.id])
    everything = folder is None and flow is None
    if folder is not None:
        flows = [f for f in flows if (current.folder_of(f) or "").lower() == folder.lower()]
    if flow is not None:
        flows = [f for f in flows if keys[f.id] == flow]
    names: set[str] = {name for f in flows if (name := current.folder_of(f))}
    folders = sorted(
        names
        | ({f.display_name for f in current.folders.values()} if everything else set())
        | ({current.folders[folder.lower()].display_name} if folder and folder.lower() in current.folders else set()),
        key=str.lower,
    )
    if folders:
        written.append(_write(root / "folders.yaml", {"folders": [{"name": n} for n in folders]}, SCHEMA_FILE))
    doc: dict[str, Any]
    for item in flows:
        doc = flow_document(item, keys[item.id], current.folder_of(item))
        written.append(_write(root / "flows" / f"{keys[item.id]}.yaml", {"flows": [doc]}, "../" + SCHEMA_FILE))
    if not everything:
        return written
    for ext in sorted(current.connections):
        conn = current.connections[ext]
        doc = {
            "external_id": ext, "display_name": conn.display_name or ext,
            "piece_name": conn.piece_name, "type": conn.type or "SECRET_TEXT",
        }
        if conn.type != "NO_AUTH":
            doc["secret"] = {"env": secret_variable(ext)}
        if conn.metadata:
            doc["metadata"] = _sorted(conn.metadata)
        written.append(_write(root / "connections" / f"{slug(ext)}.yaml", {"connections": [doc]}, "../" + SCHEMA_FILE))
    for name in sorted(current.tables):
        table = current.tables[name]
        fields = [field_spec(f) for f in sorted(current.fields.get(table.id, []), key=lambda f: str(f.created))]
        doc = {"name": table.name, "fields": fields}
        written.append(_write(root / "tables" / f"{slug(table.name or name)}.yaml", {"tables": [doc]}, "../" + SCHEMA_FILE))
    for name in sorted(current.mcp_servers):
        server = current.mcp_servers[name]
        tools: list[dict[str, Any]] = []
        for tool in server.tools:
            if tool.type == "FLOW" and tool.flow_id in keys:
                tools.append({"flow": keys[tool.flow_id]})
            elif tool.piece_metadata is not None:
                tools.append({"piece": tool.piece_metadata.model_dump(exclude_none=True, include={
                    "piece_name", "piece_version", "action_name", "action_display_name", "logo_url",
                    "connection_external_id"})})
        tools.sort(key=lambda t: str(sorted(t.items())))
        written.append(_write(root / "mcp_servers" / f"{slug(name)}.yaml",
                              {"mcp_servers": [{"name": name, "tools": tools}]}, "../" + SCHEMA_FILE))
    return written


def export_project(
    client: ImbraceClient,
    directory: str | os.PathLike[str],
    *,
    folder: str | None = None,
    flow: str | None = None,
) -> list[Path]:
    """Read the client's project (GET requests only) and write it as files; returns the paths."""
    return export_current(read_current(client), directory, folder=folder, flow=flow)
