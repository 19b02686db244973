"""Folders (imbrace-api.md §8): upsert-by-name create, 409 on a rename clash, 200-empty delete."""

from __future__ import annotations

from typing import Any

from ..errors import EngineError, entity_not_found
from ..store import Store
from .common import created_key, iso, new_id, now_ms, paginate, public
from .tenancy import Principal


class Folders:
    def __init__(self, store: Store):
        self.store = store

    def _shape(self, folder: dict[str, Any], count_as_text: bool = False) -> dict[str, Any]:
        out = public(folder)
        n = sum(
            1 for f in self.store.all("flow")
            if f.get("folderId") == folder["id"] and f["operationStatus"] != "DELETING"
        )
        # The engine's list query returns SQL COUNT as text; single-object routes a number.
        out["numberOfFlows"] = str(n) if count_as_text else n
        return out

    def _owned(self, principal: Principal, folder_id: str) -> dict[str, Any]:
        folder = self.store.get("folder", folder_id)
        if folder is None or folder["projectId"] != principal.project_id:
            raise entity_not_found(message=f"Folder {folder_id} is not found")
        return folder

    def _named(self, principal: Principal, name: str) -> dict[str, Any] | None:
        for folder in self.store.all("folder"):
            if folder["projectId"] == principal.project_id and folder["displayName"].lower() == name.lower():
                return folder
        return None

    def upsert(self, principal: Principal, name: str) -> dict[str, Any]:
        ms = now_ms()
        folder = self._named(principal, name)
        if folder is None:
            folder = {
                "id": new_id(), "created": iso(ms), "updated": iso(ms), "displayName": name,
                "projectId": principal.project_id, "displayOrder": 0, "_createdMs": ms,
            }
        else:
            folder.update(displayName=name, updated=iso(ms))
        return self.store.put("folder", folder)

    def create(self, principal: Principal, body: dict[str, Any]) -> dict[str, Any]:
        return self._shape(self.upsert(principal, body["displayName"]))

    def get(self, principal: Principal, folder_id: str) -> dict[str, Any]:
        return self._shape(self._owned(principal, folder_id))

    def update(self, principal: Principal, folder_id: str, body: dict[str, Any]) -> dict[str, Any]:
        folder = self._owned(principal, folder_id)
        clash = self._named(principal, body["displayName"])
        if clash is not None and clash["id"] != folder_id:
            raise EngineError("VALIDATION", {"message": "Folder displayName is used"})
        folder.update(displayName=body["displayName"], updated=iso(now_ms()))
        return self._shape(self.store.put("folder", folder))

    def delete(self, principal: Principal, folder_id: str) -> None:
        self._owned(principal, folder_id)
        for flow in self.store.all("flow"):
            if flow.get("folderId") == folder_id:
                flow["folderId"] = None
                self.store.put("flow", flow)
        self.store.delete("folder", folder_id)

    def list(self, principal: Principal, q: dict[str, Any]) -> dict[str, Any]:
        rows = [f for f in self.store.all("folder") if f["projectId"] == principal.project_id]
        return paginate(
            rows, created_key, descending=False, limit=q.get("limit"), cursor=q.get("cursor"),
            shape=lambda f: self._shape(f, count_as_text=True),
        )
