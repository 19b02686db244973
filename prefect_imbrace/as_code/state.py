"""What a project holds now, read with GET requests only, keyed by the files' stable names.

Flows are matched by the key `apply` keeps in their `metadata` (`METADATA_KEY`); folders and
tables by name (case-insensitive, as the engine treats folder names); connections by
`externalId`; MCP servers by name. Ids are only used inside one project, never across.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from prefect_imbrace.client import (
    AppConnection,
    Field,
    Flow,
    Folder,
    ImbraceClient,
    McpServer,
    Table,
)

from .tree import engine_shape

METADATA_KEY = "prefectImbraceKey"
"""The `metadata` entry that holds a flow's stable key (the engine generates `externalId`)."""


def flow_key(flow: Flow) -> str | None:
    value = (flow.metadata or {}).get(METADATA_KEY)
    return value if isinstance(value, str) and value else None


def slug(text: str) -> str:
    """A key or file name from a display name: lower case, `-` between words."""
    value = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return value[:80] or "flow"


def flow_tree(flow: Flow) -> dict[str, Any] | None:
    """The engine's raw trigger tree of the flow's latest version (camelCase, as on the wire)."""
    if flow.version is None or flow.version.trigger is None:
        return None
    return flow.version.trigger.model_dump(by_alias=True, exclude_none=True, mode="json")


def flow_shape_of(flow: Flow) -> dict[str, Any]:
    return engine_shape(flow_tree(flow))


def is_published_current(flow: Flow) -> bool:
    """Published, and the latest version is the published one (no pending draft)."""
    version = flow.version
    return (
        flow.published_version_id is not None
        and version is not None
        and version.state == "LOCKED"
        and version.id == flow.published_version_id
    )


@dataclass
class Current:
    """The project's objects as the engine reports them."""

    folders: dict[str, Folder] = field(default_factory=dict)
    """Lower-case name -> folder."""
    folder_names: dict[str, str] = field(default_factory=dict)
    """Folder id -> name."""
    flows: list[Flow] = field(default_factory=list)
    connections: dict[str, AppConnection] = field(default_factory=dict)
    tables: dict[str, Table] = field(default_factory=dict)
    """Lower-case name -> table."""
    fields: dict[str, list[Field]] = field(default_factory=dict)
    """Table id -> its fields (read for the tables asked for)."""
    mcp_servers: dict[str, McpServer] = field(default_factory=dict)

    def by_key(self) -> dict[str, Flow]:
        return {key: flow for flow in self.flows if (key := flow_key(flow))}

    def folder_of(self, flow: Flow) -> str | None:
        return self.folder_names.get(flow.folder_id) if flow.folder_id else None


def read_current(
    client: ImbraceClient, *, table_names: set[str] | None = None, mcp: bool = True
) -> Current:
    """Read folders, flows, connections, tables (fields of `table_names`, all if None), MCP servers."""
    wf = client.workflows
    current = Current()
    for folder in wf.iter_folders(limit=100):
        current.folders[folder.display_name.lower()] = folder
        current.folder_names[folder.id] = folder.display_name
    current.flows = [
        flow for flow in wf.iter_flows(limit=100)
        if flow.operation_status in (None, "NONE")
    ]
    for conn in wf.iter_connections(limit=100):
        if conn.external_id:
            current.connections[conn.external_id] = conn
    for table in wf.iter_tables(limit=100):
        name = (table.name or "").lower()
        current.tables[name] = table
        if table_names is None or name in table_names:
            current.fields[table.id] = wf.list_fields(table_id=table.id)
    if mcp:
        for server in wf.iter_mcp_servers(limit=100):
            if server.name:
                current.mcp_servers[server.name] = server
    return current


def field_spec(field_: Field) -> dict[str, Any]:
    """A field as the file writes it (`options` for dropdowns)."""
    out: dict[str, Any] = {"name": field_.name, "type": field_.type or "TEXT"}
    options = (field_.data or {}).get("options")
    if options:
        out["options"] = [o.get("value") if isinstance(o, dict) else o for o in options]
    return out
