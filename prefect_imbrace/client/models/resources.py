"""Everything besides flows and runs: project, folders, connections, MCP, tables, pieces, invitations.

Secrets (a connection's `value`, an MCP server's `token`) are pydantic secrets: they print as
`**********` and are read with `.get_secret_value()`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, Optional

from pydantic import Field as PydField
from pydantic import Secret, SecretStr, field_validator

from ._base import ImbraceModel


class _Entity(ImbraceModel):
    id: str
    created: Optional[datetime] = None
    updated: Optional[datetime] = None


class Project(_Entity):
    """The organisation's one workflow project (`GET /v1/users/projects/current`)."""

    display_name: Optional[str] = None
    external_id: Optional[str] = None
    """The Imbrace organisation id (`org_...`)."""
    owner_id: Optional[str] = None
    platform_id: Optional[str] = None
    type: Optional[str] = None
    icon: Optional[dict[str, Any]] = None
    max_concurrent_jobs: Optional[int] = None
    releases_enabled: Optional[bool] = None
    metadata: Optional[dict[str, Any]] = None
    deleted: Optional[datetime] = None


class Folder(_Entity):
    project_id: Optional[str] = None
    display_name: str = ""
    display_order: Optional[int] = None
    number_of_flows: Optional[int] = None
    """Lists send it as a string (SQL COUNT); it is parsed to an int either way."""


class AppConnection(_Entity):
    external_id: Optional[str] = None
    """The upsert key; flows refer to it as `{{connections['<externalId>']}}`."""
    display_name: Optional[str] = None
    type: Optional[str] = None
    piece_name: Optional[str] = None
    project_ids: list[str] = PydField(default_factory=list)
    platform_id: Optional[str] = None
    scope: Optional[str] = None
    status: Optional[str] = None
    owner_id: Optional[str] = None
    owner: Optional[dict[str, Any]] = None
    metadata: Optional[dict[str, Any]] = None
    flow_ids: Optional[list[str]] = None
    value: Optional[Secret[dict[str, Any]]] = None
    """Only `get_connection` returns it; `.get_secret_value()` gives the dict."""


class UpsertConnectionRequest(ImbraceModel):
    """Body of `upsert_connection`; `value` repeats `type`, e.g. `{"type": "SECRET_TEXT", "secret_text": ...}`."""

    external_id: str
    display_name: str
    piece_name: str
    type: str = "SECRET_TEXT"
    value: Secret[dict[str, Any]]
    project_id: Optional[str] = None
    metadata: Optional[dict[str, Any]] = None

    @field_validator("value", mode="before")
    @classmethod
    def _value_type(cls, value: Any, info: Any) -> Any:
        if isinstance(value, dict) and "type" not in value and info.data.get("type"):
            return {"type": info.data["type"], **value}
        return value

    def to_wire(self) -> dict[str, Any]:
        body = self.model_dump(by_alias=True, exclude_none=True, exclude={"value"}, mode="json")
        body["value"] = self.value.get_secret_value()
        return body


class McpPieceMetadata(ImbraceModel):
    piece_name: str
    piece_version: str
    action_name: str
    action_display_name: Optional[str] = None
    logo_url: Optional[str] = None
    connection_external_id: Optional[str] = None


class McpTool(ImbraceModel):
    """A tool of an MCP server: a piece action (`PIECE`) or a published flow (`FLOW`)."""

    id: Optional[str] = None
    created: Optional[datetime] = None
    updated: Optional[datetime] = None
    type: str
    tool_name: Optional[str] = None
    external_id: Optional[str] = None
    mcp_id: Optional[str] = None
    piece_metadata: Optional[McpPieceMetadata] = None
    flow_id: Optional[str] = None
    flow: Optional[dict[str, Any]] = None


class McpServer(_Entity):
    name: Optional[str] = None
    project_id: Optional[str] = None
    external_id: Optional[str] = None
    token: Optional[SecretStr] = None
    """Secret: the server URL is `/v1/mcp/{token}/sse`."""
    tools: list[McpTool] = PydField(default_factory=list)


class McpToolInput(ImbraceModel):
    """One tool in `update_mcp_server(..., tools=[...])` (the list replaces all tools)."""

    type: Literal["PIECE", "FLOW"]
    tool_name: str
    piece_metadata: Optional[McpPieceMetadata] = None
    flow_id: Optional[str] = None


class Table(_Entity):
    name: Optional[str] = None
    project_id: Optional[str] = None
    external_id: Optional[str] = None
    status: Optional[str] = None
    trigger: Optional[str] = None


class Field(_Entity):
    """A table column (`/v1/fields`)."""

    name: Optional[str] = None
    external_id: Optional[str] = None
    table_id: Optional[str] = None
    project_id: Optional[str] = None
    type: Optional[str] = None
    """`TEXT`, `NUMBER`, `DATE`, `STATIC_DROPDOWN`."""
    data: Optional[dict[str, Any]] = None


class RecordCell(ImbraceModel):
    field_name: Optional[str] = None
    value: Any = None
    created: Optional[datetime] = None
    updated: Optional[datetime] = None


class Record(_Entity):
    table_id: Optional[str] = None
    project_id: Optional[str] = None
    cells: dict[str, RecordCell] = PydField(default_factory=dict)
    """Field id -> cell."""

    def values(self) -> dict[str, Any]:
        """Field name -> value, the handy view of `cells`."""
        return {cell.field_name or field_id: cell.value for field_id, cell in self.cells.items()}


class Piece(ImbraceModel):
    id: Optional[str] = None
    name: str
    display_name: Optional[str] = None
    description: Optional[str] = None
    logo_url: Optional[str] = None
    version: Optional[str] = None
    authors: list[str] = PydField(default_factory=list)
    categories: Optional[list[str]] = None
    actions: Any = None
    """A count in lists, a name -> definition map from `GET /v1/pieces/{name}`."""
    triggers: Any = None
    minimum_supported_release: Optional[str] = None
    maximum_supported_release: Optional[str] = None
    piece_type: Optional[str] = None
    package_type: Optional[str] = None
    project_usage: Optional[int] = None
    created: Optional[datetime] = None
    updated: Optional[datetime] = None


class Invitation(_Entity):
    email: Optional[str] = None
    status: Optional[str] = None
    type: Optional[str] = None
    platform_id: Optional[str] = None
    platform_role: Optional[str] = None
    project_id: Optional[str] = None
    project_role_id: Optional[str] = None
    project_role: Optional[dict[str, Any]] = None


class DailyTriggerStats(ImbraceModel):
    success: int = 0
    failure: int = 0


class PieceTriggerStats(ImbraceModel):
    daily_stats: dict[str, DailyTriggerStats] = PydField(default_factory=dict)
    total_runs: int = 0


class TriggerRunStatus(ImbraceModel):
    """Trigger execution counters per piece (`GET /v1/trigger-runs/status`)."""

    pieces: dict[str, PieceTriggerStats] = PydField(default_factory=dict)


class TriggerEvent(_Entity):
    """A sample event stored by `test_trigger(..., "TEST_FUNCTION")`."""

    project_id: Optional[str] = None
    flow_id: Optional[str] = None
    source_name: Optional[str] = None
    file_id: Optional[str] = None
    payload: Any = None


class TestTriggerRequest(ImbraceModel):
    __test__ = False  # not a pytest class

    flow_id: str
    flow_version_id: str
    test_strategy: Literal["SIMULATION", "TEST_FUNCTION"] = "SIMULATION"
