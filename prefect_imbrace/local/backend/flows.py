"""Flows, versions and the 20 flow operations (imbrace-api.md §4-§5).

Tree operations (adding steps, branches, ...) are delegated to the engine package's
`apply_tree_operation`; this module owns everything around them: draft-on-locked cloning, the
`updated` bump, publishing and enabling rules, the FLOW_IN_USE guard and asynchronous deletion.
"""

from __future__ import annotations

import asyncio
import copy
import json
import re
from typing import Any, cast

from .. import engine
from ..engine.triggers import validate_schedule
from ..errors import EngineError, FrameworkError, RequestValidationError, entity_not_found
from ..store import Store
from ..validation import validate
from .common import ID_PATTERN, iso, new_id, now_ms, paginate, public
from .tenancy import Principal

TREE_OPS = {
    "IMPORT_FLOW", "UPDATE_TRIGGER", "ADD_ACTION", "UPDATE_ACTION", "DELETE_ACTION",
    "DUPLICATE_ACTION", "MOVE_ACTION", "SET_SKIP_ACTION", "ADD_BRANCH", "DELETE_BRANCH",
    "DUPLICATE_BRANCH", "MOVE_BRANCH", "SAVE_SAMPLE_DATA",
}
STATUS = {"type": "string", "enum": ["ENABLED", "DISABLED"]}
OTHER_OPS: dict[str, dict[str, Any]] = {
    "CHANGE_STATUS": {"type": "object", "required": ["status"], "properties": {"status": STATUS}},
    "LOCK_AND_PUBLISH": {"type": "object", "properties": {"status": STATUS}},
    "LOCK_FLOW": {"type": "object", "properties": {}},
    "USE_AS_DRAFT": {
        "type": "object", "required": ["versionId"],
        "properties": {"versionId": {"type": "string", "pattern": ID_PATTERN}},
    },
    "CHANGE_NAME": {"type": "object", "required": ["displayName"], "properties": {"displayName": {"type": "string"}}},
    "CHANGE_FOLDER": {
        "type": "object", "required": ["folderId"], "properties": {"folderId": {"type": ["string", "null"]}},
    },
    "UPDATE_METADATA": {
        "type": "object", "required": ["metadata"], "properties": {"metadata": {"type": ["object", "null"]}},
    },
}
OPERATION_TYPES = sorted(TREE_OPS | set(OTHER_OPS))
IN_USE_MS = 60_000
DELETE_DELAY_S = 1.0
_CONNECTION_REF = re.compile(r"""connections\[\\?['"]([^'"\\]+)\\?['"]\]""")



def connection_ids(trigger: dict[str, Any]) -> list[str]:
    """External ids of app connections a tree references (`{{connections['x']}}`)."""
    found = _CONNECTION_REF.findall(json.dumps(trigger))
    return sorted(set(found))


def tags_of(flow: dict[str, Any]) -> list[Any] | None:
    tags = (flow.get("metadata") or {}).get("tags") if isinstance(flow.get("metadata"), dict) else None
    if not isinstance(tags, list):
        return None
    return [t.get("name") for t in tags if isinstance(t, dict)]


class Flows:
    def __init__(self, store: Store):
        self.store = store

    # -- lookups --------------------------------------------------------------------------------
    def find(self, flow_id: str) -> dict[str, Any] | None:
        return self.store.get("flow", flow_id)

    def owned(self, principal: Principal, flow_id: str) -> dict[str, Any]:
        flow = self.store.get("flow", flow_id)
        if flow is None or flow["projectId"] != principal.project_id:
            raise EngineError("ENTITY_NOT_FOUND", {})
        return flow

    def latest(self, flow: dict[str, Any]) -> dict[str, Any]:
        # a flow always has its latest version
        return cast("dict[str, Any]", self.store.get("version", flow["_latestVersionId"]))

    def published(self, flow: dict[str, Any]) -> dict[str, Any] | None:
        vid = flow.get("publishedVersionId")
        return self.store.get("version", vid) if vid else None

    def populate(self, flow: dict[str, Any], version: dict[str, Any] | None = None) -> dict[str, Any]:
        out = public(flow)
        out["version"] = public(version or self.latest(flow))
        if flow["status"] == "ENABLED" and flow.get("publishedVersionId"):
            published = self.published(flow)
            out["triggerSource"] = {"schedule": engine.schedule_of(published["trigger"]) if published else None}
        return out

    # -- create / read / list / delete ------------------------------------------------------------
    def create(self, principal: Principal, body: dict[str, Any], folders: Any) -> dict[str, Any]:
        folder_id = body.get("folderId")
        if folder_id is None and body.get("folderName"):
            folder_id = folders.upsert(principal, body["folderName"])["id"]
        ms = now_ms()
        flow_id = new_id()
        version = self._new_version(flow_id, ms, "DRAFT", body["displayName"], {
            "name": "trigger", "valid": False, "displayName": "Select Trigger", "type": "EMPTY", "settings": {},
        })
        version["updatedBy"] = None
        flow = {
            "id": flow_id, "created": iso(ms), "updated": iso(ms), "projectId": principal.project_id,
            "externalId": new_id(), "status": "DISABLED", "operationStatus": "NONE",
            "folderId": folder_id, "publishedVersionId": None, "metadata": body.get("metadata"),
            "_createdMs": ms, "_updatedMs": ms, "_latestVersionId": version["id"],
        }
        self.store.put("version", version)
        self.store.put("flow", flow)
        return self.populate(flow, version)

    def _new_version(self, flow_id: str, ms: int, state: str, name: str, trigger: dict[str, Any]) -> dict[str, Any]:
        valid = engine.version_is_valid(trigger) if trigger.get("type") != "EMPTY" else False
        return {
            "id": new_id(), "created": iso(ms), "updated": iso(ms), "flowId": flow_id, "displayName": name,
            "trigger": trigger, "valid": valid, "agentIds": [], "state": state,
            "connectionIds": connection_ids(trigger), "updatedBy": None, "schemaVersion": "8",
            "backupFiles": None, "_createdMs": ms, "_updatedMs": ms,
        }

    def get(self, principal: Principal, flow_id: str, version_id: str | None = None) -> dict[str, Any]:
        flow = self.owned(principal, flow_id)
        version = None
        if version_id:
            version = self.store.get("version", version_id)
            if version is None or version["flowId"] != flow_id:
                raise entity_not_found("FlowVersion", version_id)
        return self.populate(flow, version)

    def list(self, principal: Principal, q: dict[str, Any]) -> dict[str, Any]:
        flows = [f for f in self.store.all("flow") if f["projectId"] == principal.project_id]
        op_status = q.get("operationStatus")
        if op_status:
            flows = [f for f in flows if f["operationStatus"] in op_status]
        else:
            flows = [f for f in flows if f["operationStatus"] != "DELETING"]
        if "folderId" in q:
            wanted = None if q["folderId"] == "NULL" else q["folderId"]
            flows = [f for f in flows if f.get("folderId") == wanted]
        if q.get("status"):
            flows = [f for f in flows if f["status"] in q["status"]]
        if q.get("externalIds"):
            flows = [f for f in flows if f["externalId"] in q["externalIds"]]
        if q.get("name"):
            needle = q["name"].lower()
            flows = [f for f in flows if needle in self.latest(f)["displayName"].lower()]
        if q.get("connectionExternalIds"):
            wanted_c = set(q["connectionExternalIds"])
            flows = [f for f in flows if wanted_c & set(self.latest(f)["connectionIds"])]
        if q.get("agentExternalIds"):
            wanted_a = set(q["agentExternalIds"])
            flows = [f for f in flows if wanted_a & set(self.latest(f)["agentIds"])]
        if q.get("tags"):
            flows = [f for f in flows if (tags_of(f) is None or set(q["tags"]) <= set(tags_of(f) or []))]
        locked = q.get("versionState") == "LOCKED"

        def shape(flow: dict[str, Any]) -> dict[str, Any]:
            if locked:
                published = self.published(flow)
                if published is None:
                    raise entity_not_found("FlowVersion")
                return self.populate(flow, published)
            return self.populate(flow)

        # Sorted by `updated` DESC; the cursor follows the sort key (see common.py).
        return paginate(
            flows, lambda f: (f["_updatedMs"], f["id"]), descending=True,
            limit=q.get("limit"), cursor=q.get("cursor"), shape=shape,
        )

    def count(self, principal: Principal) -> int:
        return sum(
            1 for f in self.store.all("flow")
            if f["projectId"] == principal.project_id and f["operationStatus"] != "DELETING"
        )

    def delete(self, principal: Principal, flow_id: str) -> None:
        flow = self.owned(principal, flow_id)
        if flow["operationStatus"] == "DELETING":
            raise EngineError("FLOW_OPERATION_INVALID", {"message": f"Flow {flow_id} is already being DELETING"})
        self._touch(flow)
        flow["operationStatus"] = "DELETING"
        self.store.put("flow", flow)
        try:
            asyncio.get_running_loop().call_later(DELETE_DELAY_S, self.finish_delete, flow_id)
        except RuntimeError:  # no loop (direct backend use): delete at once
            self.finish_delete(flow_id)

    def finish_delete(self, flow_id: str) -> None:
        """The background half of DELETE: the flow, its versions and its runs go away."""
        for version in self.store.all("version"):
            if version["flowId"] == flow_id:
                self.store.delete("version", version["id"])
        for run in self.store.all("run"):
            if run["flowId"] == flow_id:
                self.store.delete("run", run["id"])
        self.store.delete("flow", flow_id)

    # -- operations ---------------------------------------------------------------------------------
    def operate(self, principal: Principal, flow_id: str, body: dict[str, Any]) -> dict[str, Any]:
        op_type, request = body["type"], body["request"]
        if op_type in OTHER_OPS:
            try:
                request = validate(OTHER_OPS[op_type], request, "body/request", coerce=True)
            except RequestValidationError:
                raise RequestValidationError("body must match a schema in anyOf") from None
        flow = self.owned(principal, flow_id)
        latest = self.latest(flow)
        if (
            latest.get("updatedBy") not in (None, principal.user_id)
            and now_ms() - latest["_updatedMs"] < IN_USE_MS
        ):
            raise EngineError("FLOW_IN_USE", {
                "flowVersionId": latest["id"],
                "message": "Flow is being used by another user in the last minute. Please try again later.",
            })
        if op_type == "CHANGE_STATUS":
            self._change_status(flow, request["status"])
        elif op_type == "LOCK_AND_PUBLISH":
            self._lock(latest)
            flow["publishedVersionId"] = latest["id"]
            # The old trigger is disabled first; the new one is enabled after the lock commits,
            # so a trigger the engine cannot enable (EMPTY) leaves the flow published but DISABLED.
            flow["status"] = "DISABLED"
            self._unlink_mcp_tools(flow, latest)
            self._touch(flow)
            self.store.put("flow", flow)
            self._change_status(flow, request.get("status", "ENABLED"))
        elif op_type == "LOCK_FLOW":
            self._lock(latest)
        elif op_type == "CHANGE_FOLDER":
            flow["folderId"] = request["folderId"]
        elif op_type == "UPDATE_METADATA":
            flow["metadata"] = request["metadata"]
        else:
            self._edit(principal, flow, op_type, request)
        self._touch(flow)
        self.store.put("flow", flow)
        return self.populate(flow)

    def _edit(self, principal: Principal, flow: dict[str, Any], op_type: str, request: dict[str, Any]) -> None:
        latest = self.latest(flow)
        trigger, name = latest["trigger"], latest["displayName"]
        if op_type == "CHANGE_NAME":
            name = request["displayName"]
        elif op_type == "USE_AS_DRAFT":
            source = self.store.get("version", request["versionId"])
            if source is None or source["flowId"] != flow["id"]:
                raise entity_not_found("FlowVersion", request["versionId"])
            trigger, name = copy.deepcopy(source["trigger"]), source["displayName"]
        else:
            trigger = engine.apply_tree_operation(copy.deepcopy(trigger), op_type, request)
            if op_type == "IMPORT_FLOW":
                name = request.get("displayName", name)
        # Editing a LOCKED version first clones it into a new DRAFT (§4.2).
        draft = latest if latest["state"] == "DRAFT" else self._new_version(flow["id"], now_ms(), "DRAFT", name, trigger)
        draft["trigger"], draft["displayName"] = trigger, name
        draft["valid"] = bool(engine.version_is_valid(trigger))
        draft["connectionIds"] = connection_ids(trigger)
        draft["updatedBy"] = principal.user_id
        self._touch(draft)
        self.store.put("version", draft)
        flow["_latestVersionId"] = draft["id"]

    def _lock(self, version: dict[str, Any]) -> None:
        if version["state"] == "LOCKED":
            return
        version["trigger"] = engine.pin_piece_versions(version["trigger"])
        version["state"] = "LOCKED"
        self._touch(version)
        self.store.put("version", version)

    def _change_status(self, flow: dict[str, Any], status: str) -> None:
        if status == flow["status"]:
            return
        if status == "ENABLED":
            published = self.published(flow)
            if published is None:
                raise FrameworkError(500, "publishedFlowVersionId is required is null or undefined")
            self._assert_trigger_known(published["trigger"])
            validate_schedule(published["trigger"])  # an unusable schedule: 400 TRIGGER_FAILED
        flow["status"] = status

    def _assert_trigger_known(self, trigger: dict[str, Any]) -> None:
        settings = trigger.get("settings") or {}
        piece = engine.get_piece(settings.get("pieceName", "")) if trigger.get("type") == "PIECE_TRIGGER" else None
        triggers = (piece or {}).get("triggers") or {}
        names = triggers.keys() if isinstance(triggers, dict) else [t.get("name") for t in triggers if isinstance(t, dict)]
        if piece is None or settings.get("triggerName") not in names:
            params = {k: settings[k] for k in ("pieceName", "pieceVersion", "triggerName") if k in settings}
            raise EngineError("PIECE_TRIGGER_NOT_FOUND", params)

    def _unlink_mcp_tools(self, flow: dict[str, Any], version: dict[str, Any]) -> None:
        """Publishing a non-MCP flow removes MCP FLOW tools pointing at it (§12)."""
        if (version["trigger"].get("settings") or {}).get("pieceName") == "@activepieces/piece-mcp":
            return
        for mcp in self.store.all("mcp"):
            kept = [t for t in mcp["_tools"] if not (t["type"] == "FLOW" and t.get("flowId") == flow["id"])]
            if len(kept) != len(mcp["_tools"]):
                mcp["_tools"] = kept
                self.store.put("mcp", mcp)

    def rename_connection(self, principal: Principal, old: str, new: str) -> None:
        """`{{connections['old']}}` -> `{{connections['new']}}` in every latest version of the project."""
        pattern = re.compile(r"""(connections\[\\?['"])""" + re.escape(old) + r"""(\\?['"]\])""")
        for flow in self.store.all("flow"):
            if flow["projectId"] != principal.project_id:
                continue
            version = self.latest(flow)
            if old not in version["connectionIds"]:
                continue
            text = pattern.sub(lambda m: m.group(1) + new + m.group(2), json.dumps(version["trigger"]))
            trigger = json.loads(text)
            draft = version if version["state"] == "DRAFT" else self._new_version(flow["id"], now_ms(), "DRAFT", version["displayName"], trigger)
            draft["trigger"], draft["connectionIds"] = trigger, connection_ids(trigger)
            self._touch(draft)
            self.store.put("version", draft)
            flow["_latestVersionId"] = draft["id"]
            self._touch(flow)
            self.store.put("flow", flow)

    @staticmethod
    def _touch(doc: dict[str, Any]) -> None:
        ms = now_ms()
        doc["updated"] = iso(ms)
        doc["_updatedMs"] = ms
