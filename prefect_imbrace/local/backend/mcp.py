"""MCP servers (imbrace-api.md §12): tools replaced wholesale, toolName recomputed, rotate."""

from __future__ import annotations

import re
from typing import Any

from ..errors import FrameworkError, entity_not_found
from ..store import Store
from .common import created_key, iso, new_id, now_ms, paginate, public
from .tenancy import Principal

_SEPARATORS = re.compile(r"[\s/@-]+")


def tool_name(base: str, tool_id: str) -> str:
    """Runs of spaces, `/`, `@`, `-` -> `_`, cut to 42 chars, then `_` + 4 chars of the id."""
    return _SEPARATORS.sub("_", base)[:42] + "_" + tool_id[:4]


class McpServers:
    def __init__(self, store: Store, flows: Any):
        self.store = store
        self.flows = flows

    def _get(self, principal: Principal, mcp_id: str, missing: str = "404") -> dict[str, Any]:
        mcp = self.store.get("mcp", mcp_id)
        if mcp is None or mcp["projectId"] != principal.project_id:
            if missing == "500":  # update/rotate look the row up with a throwing finder
                raise FrameworkError(500, f"MCP {mcp_id} not found")
            raise entity_not_found("MCP", mcp_id)
        return mcp

    def _shape(self, mcp: dict[str, Any]) -> dict[str, Any]:
        out = public(mcp)
        tools = []
        for tool in sorted(mcp["_tools"], key=lambda t: t["_createdMs"], reverse=True):
            item = public(tool)
            if tool["type"] == "FLOW":
                flow = self.flows.find(tool["flowId"])
                published = self.flows.published(flow) if flow else None
                if published is None:
                    continue  # never-published flows are omitted from responses
                item["flow"] = self.flows.populate(flow, published)
                base = published["displayName"]
            else:
                base = tool["pieceMetadata"]["actionName"]
            item["toolName"] = tool_name(base, tool["id"])
            tools.append(item)
        out["tools"] = tools
        return out

    def create(self, principal: Principal, body: dict[str, Any]) -> dict[str, Any]:
        ms = now_ms()
        mcp = {
            "id": new_id(), "created": iso(ms), "updated": iso(ms), "name": body["name"],
            "projectId": principal.project_id, "token": new_id(), "externalId": new_id(),
            "_createdMs": ms, "_tools": [],
        }
        return self._shape(self.store.put("mcp", mcp))

    def get(self, principal: Principal, mcp_id: str) -> dict[str, Any]:
        return self._shape(self._get(principal, mcp_id))

    def list(self, principal: Principal, q: dict[str, Any]) -> dict[str, Any]:
        rows = [m for m in self.store.all("mcp") if m["projectId"] == principal.project_id]
        if q.get("name"):
            rows = [m for m in rows if q["name"].lower() in m["name"].lower()]
        return paginate(rows, created_key, descending=True, limit=q.get("limit"), cursor=q.get("cursor"), shape=self._shape)

    def update(self, principal: Principal, mcp_id: str, body: dict[str, Any]) -> dict[str, Any]:
        mcp = self._get(principal, mcp_id, missing="500")
        ms = now_ms()
        if "name" in body:
            mcp["name"] = body["name"]
        if "tools" in body:
            old = mcp["_tools"]
            tools = []
            for spec in body["tools"]:
                match = next((t for t in old if self._same(t, spec)), None)
                tool = dict(match) if match else {
                    "id": new_id(), "created": iso(ms), "externalId": new_id(), "mcpId": mcp_id, "_createdMs": ms,
                }
                tool.update(updated=iso(ms), type=spec["type"], toolName=spec["toolName"])
                if spec["type"] == "PIECE":
                    tool["pieceMetadata"] = spec["pieceMetadata"]
                else:
                    tool["flowId"] = spec["flowId"]
                tools.append(tool)
            mcp["_tools"] = tools
        mcp["updated"] = iso(ms)
        return self._shape(self.store.put("mcp", mcp))

    @staticmethod
    def _same(tool: dict[str, Any], spec: dict[str, Any]) -> bool:
        if tool["type"] != spec["type"]:
            return False
        if spec["type"] == "PIECE":
            return tool["pieceMetadata"]["actionName"] == spec["pieceMetadata"]["actionName"]
        return tool["flowId"] == spec["flowId"]

    def rotate(self, principal: Principal, mcp_id: str) -> dict[str, Any]:
        mcp = self._get(principal, mcp_id, missing="500")
        mcp.update(token=new_id(), updated=iso(now_ms()))
        return self._shape(self.store.put("mcp", mcp))

    def delete(self, principal: Principal, mcp_id: str) -> None:
        self._get(principal, mcp_id)
        self.store.delete("mcp", mcp_id)
