"""App connections (imbrace-api.md §9): upsert by externalId, the secret only on GET /{id}."""

from __future__ import annotations

from typing import Any

from .. import engine
from ..errors import EngineError, entity_not_found
from ..store import Store
from .common import created_key, iso, new_id, now_ms, paginate, public
from .registry import CONNECTION_ONLY_PIECES
from .tenancy import Principal, Tenancy

_SUMMARY = (
    "id", "created", "updated", "displayName", "externalId", "type", "status", "platformId",
    "pieceName", "ownerId", "projectIds", "scope", "metadata",
)



class Connections:
    def __init__(self, store: Store, tenancy: Tenancy):
        self.store = store
        self.tenancy = tenancy

    def _owned(self, principal: Principal, conn_id: str) -> dict[str, Any]:
        conn = self.store.get("connection", conn_id)
        if conn is None or principal.project_id not in conn["projectIds"]:
            raise entity_not_found("AppConnection", conn_id)
        return conn

    @staticmethod
    def summary(conn: dict[str, Any]) -> dict[str, Any]:
        return {k: conn[k] for k in _SUMMARY}

    def _owner(self, conn: dict[str, Any]) -> dict[str, Any] | None:
        user = self.store.get("user", conn["ownerId"]) if conn.get("ownerId") else None
        return public(user) if user else None

    def upsert(self, principal: Principal, body: dict[str, Any]) -> dict[str, Any]:
        if engine.get_piece(body["pieceName"]) is None and body["pieceName"] not in CONNECTION_ONLY_PIECES:
            raise entity_not_found(
                message=f"piece_metadata_not_found projectId={principal.project_id} pieceName={body['pieceName']}"
            )
        ms = now_ms()
        conn = next(
            (c for c in self.store.all("connection")
             if c["externalId"] == body["externalId"] and principal.project_id in c["projectIds"]),
            None,
        )
        if conn is None:
            conn = {"id": new_id(), "created": iso(ms), "_createdMs": ms}
        conn.update(
            updated=iso(ms), displayName=body["displayName"], externalId=body["externalId"], type=body["type"],
            status="ACTIVE", platformId=self.tenancy.platform_id, pieceName=body["pieceName"],
            ownerId=principal.user_id, projectIds=[principal.project_id], scope="PROJECT",
            metadata=body.get("metadata"), _value=body["value"],
        )
        return self.summary(self.store.put("connection", conn))

    def get(self, principal: Principal, conn_id: str) -> dict[str, Any]:
        conn = self._owned(principal, conn_id)
        out = self.summary(conn)
        out["value"] = conn["_value"]
        out["owner"] = self._owner(conn)
        return out

    def rename(self, principal: Principal, conn_id: str, body: dict[str, Any]) -> dict[str, Any]:
        conn = self._owned(principal, conn_id)
        conn["displayName"] = body["displayName"]
        if "metadata" in body:
            conn["metadata"] = body["metadata"]
        conn["updated"] = iso(now_ms())
        return self.summary(self.store.put("connection", conn))

    def delete(self, principal: Principal, conn_id: str) -> None:
        self._owned(principal, conn_id)
        self.store.delete("connection", conn_id)

    def list(self, principal: Principal, q: dict[str, Any], flow_ids_using: Any) -> dict[str, Any]:
        rows = [c for c in self.store.all("connection") if principal.project_id in c["projectIds"]]
        if q.get("pieceName"):
            rows = [c for c in rows if c["pieceName"] == q["pieceName"]]
        if q.get("displayName"):
            rows = [c for c in rows if q["displayName"].lower() in c["displayName"].lower()]
        if q.get("status"):
            rows = [c for c in rows if c["status"] in q["status"]]
        if q.get("scope"):
            rows = [c for c in rows if c["scope"] == q["scope"]]
        if q.get("imbraceUserId"):
            rows = [c for c in rows if (c.get("metadata") or {}).get("imbraceUserId") == q["imbraceUserId"]]

        def shape(conn: dict[str, Any]) -> dict[str, Any]:
            out = self.summary(conn)
            out["owner"] = self._owner(conn)
            out["flowIds"] = flow_ids_using(principal, conn["externalId"])
            return out

        return paginate(rows, created_key, descending=False, limit=q.get("limit"), cursor=q.get("cursor"), shape=shape)

    def owners(self, principal: Principal, q: dict[str, Any]) -> dict[str, Any]:
        users = {}
        for conn in self.store.all("connection"):
            user = self.store.get("user", conn.get("ownerId") or "")
            if principal.project_id in conn["projectIds"] and user is not None:
                users[user["id"]] = {"firstName": user["firstName"], "lastName": user["lastName"], "email": user["email"]}
        return {"data": list(users.values()), "next": None, "previous": None}

    def replace(self, principal: Principal, source_id: str, target_id: str, flows: Any) -> None:
        """Point every flow of the project at the target connection, then delete the source."""
        source, target = self._owned(principal, source_id), self._owned(principal, target_id)
        if source["pieceName"] != target["pieceName"]:
            raise EngineError("VALIDATION", {"message": "Connections must belong to the same piece"})
        flows.rename_connection(principal, source["externalId"], target["externalId"])
        self.store.delete("connection", source_id)

    def values_for(self, project_id: str) -> dict[str, Any]:
        """externalId -> secret value, what a run resolves `{{connections['x']}}` against."""
        return {c["externalId"]: c["_value"] for c in self.store.all("connection") if project_id in c["projectIds"]}
