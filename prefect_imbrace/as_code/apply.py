"""Make a project match the files: each object applied whole, or rolled back whole.

The order is folders, connections, tables, flows, MCP servers (tools point at flows), then the
deletions `--prune` asked for. An object that fails is put back the way it was (a created object
is deleted; an updated flow gets its old tree, folder, metadata, published version and status
back) and the next object is tried: the summary lists every failure and the result is non-zero.
A plan with no changes sends no request beyond its reads.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import Secret

from prefect_imbrace.client import Flow, ImbraceClient
from prefect_imbrace.client import operations as ops
from prefect_imbrace.client.models import McpPieceMetadata, McpToolInput, UpsertConnectionRequest

from .loader import Declared
from .plan import Change, Plan, compute_plan
from .state import METADATA_KEY, flow_shape_of, flow_tree
from .tree import engine_trigger_tree


@dataclass
class Outcome:
    """What happened to one change."""

    change: Change
    ok: bool
    error: str | None = None
    rolled_back: bool | None = None


@dataclass
class ApplyResult:
    """The plan that was applied, each change's outcome, and the key -> id of every declared flow."""

    plan: Plan
    outcomes: list[Outcome] = field(default_factory=list)
    flow_ids: dict[str, str] = field(default_factory=dict)

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.ok]

    @property
    def ok(self) -> bool:
        return not self.failed

    def summary(self) -> str:
        done = {"create": 0, "update": 0, "delete": 0}
        for outcome in self.outcomes:
            if outcome.ok:
                done[outcome.change.action] += 1
        lines = []
        for outcome in self.outcomes:
            state = "ok" if outcome.ok else (
                "FAILED, rolled back" if outcome.rolled_back else "FAILED, rollback incomplete"
            )
            line = f"{outcome.change.title()}: {state}"
            lines.append(line if outcome.ok else f"{line}: {outcome.error}")
        unchanged = len(self.plan.unchanged)
        if not self.outcomes:
            lines.append(f"No changes: {unchanged} object(s) already match the files.")
        else:
            lines.append(
                f"Applied: {done['create']} created, {done['update']} updated, {done['delete']} deleted, "
                f"{unchanged} unchanged, {len(self.failed)} failed."
            )
        return "\n".join(lines)


class _Applier:
    def __init__(self, client: ImbraceClient, plan: Plan):
        assert plan.declared is not None and plan.current is not None
        self.wf = client.workflows
        self.plan = plan
        self.declared: Declared = plan.declared
        self.current = plan.current
        self.folder_ids = {name: folder.id for name, folder in self.current.folders.items()}
        self.flow_ids: dict[str, str] = {}
        for change in plan.changes:
            if change.kind == "flow" and change.action == "update":
                self.flow_ids[change.name] = change.current.id
        for key, flow in self.current.by_key().items():
            self.flow_ids.setdefault(key, flow.id)

    # -- helpers -------------------------------------------------------------------------------

    def _op(self, flow_id: str, operation: ops.FlowOperation) -> Flow:
        return self.wf.apply_flow_operation(flow_id=flow_id, operation=operation)

    def _folder_id(self, name: str | None) -> str | None:
        return self.folder_ids[name.lower()] if name is not None else None

    # -- folders, connections, tables ----------------------------------------------------------

    def folder(self, change: Change, undo: list[Callable[[], Any]]) -> None:
        folder = self.wf.create_folder(display_name=change.name)
        undo.append(lambda: self.wf.delete_folder(folder_id=folder.id))
        self.folder_ids[change.name.lower()] = folder.id

    def connection(self, change: Change, undo: list[Callable[[], Any]]) -> None:
        spec = self.declared.connections[change.name]
        old = None
        if change.action == "update":
            old = self.wf.get_connection(connection_id=change.current.id)
        body = UpsertConnectionRequest(
            external_id=spec.external_id, display_name=spec.display_name,
            piece_name=spec.piece_name, type=spec.type,
            value=Secret(self.plan.secrets[change.name]), metadata=spec.metadata,
        )
        created = self.wf.upsert_connection(body=body)
        if old is None:
            undo.append(lambda: self.wf.delete_connection(connection_id=created.id))
        elif old.value is not None:
            restore = UpsertConnectionRequest(
                external_id=spec.external_id, display_name=old.display_name or spec.display_name,
                piece_name=old.piece_name or spec.piece_name, type=old.type or spec.type,
                value=old.value, metadata=old.metadata,
            )
            undo.append(lambda: self.wf.upsert_connection(body=restore))

    def table(self, change: Change, undo: list[Callable[[], Any]]) -> None:
        spec = self.declared.tables[change.name]
        if change.action == "create":
            table = self.wf.create_table(name=spec.name)
            undo.append(lambda: self.wf.delete_table(table_id=table.id))
            missing = [f.name for f in spec.fields]
        else:
            if change.flags.get("retype"):
                raise ValueError(
                    "a declared field differs in type or options from the engine's; the engine API "
                    "used here cannot change a field, so change it by hand or rename the field"
                )
            table = change.current
            missing = change.flags["missing"]
        for f in spec.fields:
            if f.name in missing:
                self.wf.create_field(table_id=table.id, name=f.name, type=f.type, options=f.options)

    # -- flows -----------------------------------------------------------------------------------

    def flow(self, change: Change, undo: list[Callable[[], Any]]) -> None:
        if change.action == "delete":
            self.wf.delete_flow(flow_id=change.current.id)
            return
        spec = self.declared.flows[change.name]
        shape = self.plan.shapes[change.name]
        tree = engine_trigger_tree(shape["trigger"], shape["steps"])
        metadata = {**spec.metadata, METADATA_KEY: spec.key}
        publish = ops.lock_and_publish(status=spec.status) if spec.status != "DRAFT" else None
        if change.action == "create":
            flow = self.wf.create_flow(
                display_name=spec.display_name, folder_id=self._folder_id(spec.folder), metadata=metadata
            )
            undo.append(lambda: self.wf.delete_flow(flow_id=flow.id))
            self._op(flow.id, ops.import_flow(display_name=spec.display_name, trigger=tree))
            if publish is not None:
                flow = self._op(flow.id, publish)
                self._check_status(flow, spec.status)
            self.flow_ids[spec.key] = flow.id
            return
        old: Flow = change.current
        undo.append(lambda: self._restore_flow(old))
        flags = change.flags
        if flags.get("tree") or flags.get("name"):
            self._op(old.id, ops.import_flow(display_name=spec.display_name, trigger=tree))
        if flags.get("folder"):
            self._op(old.id, ops.change_folder(folder_id=self._folder_id(spec.folder)))
        if flags.get("metadata"):
            self._op(old.id, ops.update_metadata(metadata=metadata))
        if publish is not None and flags.get("publish"):
            self._check_status(self._op(old.id, publish), spec.status)
        elif flags.get("status") and spec.status != "DRAFT":
            status: Literal["ENABLED", "DISABLED"] = spec.status
            self._check_status(self._op(old.id, ops.change_status(status=status)), spec.status)
        self.flow_ids[spec.key] = old.id

    @staticmethod
    def _check_status(flow: Flow, status: str) -> None:
        if flow.status != status:
            raise ValueError(f"the engine left the flow {flow.status} instead of {status}")

    def _restore_flow(self, old: Flow) -> None:
        """Put an updated flow back: published version and status, draft tree, folder, metadata."""
        now = self.wf.get_flow(flow_id=old.id)
        old_status: Literal["ENABLED", "DISABLED"] = "ENABLED" if old.status == "ENABLED" else "DISABLED"
        if old.published_version_id and now.published_version_id != old.published_version_id:
            self._op(old.id, ops.use_as_draft(version_id=old.published_version_id))
            self._op(old.id, ops.lock_and_publish(status=old_status))
        elif old.published_version_id and now.status != old.status:
            self._op(old.id, ops.change_status(status=old_status))
        now = self.wf.get_flow(flow_id=old.id)
        if flow_shape_of(now) != flow_shape_of(old) or now.display_name != old.display_name:
            tree = flow_tree(old) or {"name": "trigger", "type": "EMPTY", "settings": {}}
            self._op(old.id, ops.import_flow(display_name=old.display_name or "", trigger=tree))
        if now.folder_id != old.folder_id:
            self._op(old.id, ops.change_folder(folder_id=old.folder_id))
        if (now.metadata or None) != (old.metadata or None):
            self._op(old.id, ops.update_metadata(metadata=old.metadata))

    # -- MCP servers -----------------------------------------------------------------------------

    def mcp_server(self, change: Change, undo: list[Callable[[], Any]]) -> None:
        spec = self.declared.mcp_servers[change.name]
        tools = []
        missing = [t.flow for t in spec.tools if t.flow is not None and t.flow not in self.flow_ids]
        if missing:
            raise ValueError(f"its tool flow(s) {', '.join(missing)} do not exist (their apply failed)")
        for tool in spec.tools:
            if tool.flow is not None:
                tools.append(McpToolInput(type="FLOW", tool_name=self.declared.flows[tool.flow].display_name,
                                          flow_id=self.flow_ids[tool.flow]))
            elif tool.piece is not None:
                tools.append(McpToolInput(
                    type="PIECE", tool_name=tool.piece.action_name,
                    piece_metadata=McpPieceMetadata(**tool.piece.model_dump()),
                ))
        if change.action == "create":
            server = self.wf.create_mcp_server(name=spec.name)
            undo.append(lambda: self.wf.delete_mcp_server(mcp_server_id=server.id))
        else:
            server = change.current
            old_tools = [
                McpToolInput(type=t.type, tool_name=t.tool_name or "", flow_id=t.flow_id,
                             piece_metadata=t.piece_metadata)
                for t in server.tools
            ]
            undo.append(lambda: self.wf.update_mcp_server(mcp_server_id=server.id, tools=old_tools))
        self.wf.update_mcp_server(mcp_server_id=server.id, tools=tools)

    # -- driver ----------------------------------------------------------------------------------

    def run(self) -> ApplyResult:
        result = ApplyResult(plan=self.plan)
        handlers = {
            "folder": self.folder, "connection": self.connection, "table": self.table,
            "flow": self.flow, "mcp_server": self.mcp_server,
        }
        for change in self.plan.changes:
            undo: list[Callable[[], Any]] = []
            try:
                handlers[change.kind](change, undo)
            except Exception as exc:  # noqa: BLE001 - every failure is reported, then rolled back
                outcome = Outcome(change, ok=False, error=_describe(exc), rolled_back=True)
                for step in reversed(undo):
                    try:
                        step()
                    except Exception as undo_exc:  # noqa: BLE001
                        outcome.rolled_back = False
                        outcome.error = f"{outcome.error}; rollback failed: {_describe(undo_exc)}"
                result.outcomes.append(outcome)
            else:
                result.outcomes.append(Outcome(change, ok=True))
        result.flow_ids = {k: v for k, v in self.flow_ids.items() if k in self.declared.flows}
        return result


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def apply_plan(client: ImbraceClient, plan: Plan) -> ApplyResult:
    """Carry out a computed plan (see `compute_plan`)."""
    return _Applier(client, plan).run()


def apply_declared(client: ImbraceClient, declared: Declared, *, prune: bool = False) -> ApplyResult:
    """Plan, then apply: the project ends up matching the files (idempotent)."""
    return apply_plan(client, compute_plan(client, declared, prune=prune))
