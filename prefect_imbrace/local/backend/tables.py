"""Tables, fields and records (imbrace-api.md §13). Records never paginate."""

from __future__ import annotations

import builtins  # the class has a `list` method, which annotations in it would name
from typing import Any

from ..errors import EngineError, entity_not_found
from ..store import Store
from .common import created_key, iso, new_id, now_ms, page_size, paginate, public
from .tenancy import Principal

MAX_RECORDS_PER_TABLE = 1500
MAX_FIELDS_PER_TABLE = 15


class Tables:
    def __init__(self, store: Store):
        self.store = store

    def _owned(self, kind: str, label: str, principal: Principal, entity_id: str) -> dict[str, Any]:
        """A table, field or record of the caller's project; any other id is not found."""
        row = self.store.get(kind, entity_id)
        if row is None or row["projectId"] != principal.project_id:
            raise entity_not_found(label, entity_id)
        return row

    def _of_table(self, kind: str, table_id: str) -> list[dict[str, Any]]:
        """The fields or records of one table, oldest first."""
        return sorted((r for r in self.store.all(kind) if r["tableId"] == table_id), key=created_key)

    # -- tables ------------------------------------------------------------------------------------
    def _table(self, principal: Principal, table_id: str) -> dict[str, Any]:
        return self._owned("table", "Table", principal, table_id)

    def list(self, principal: Principal, q: dict[str, Any]) -> dict[str, Any]:
        rows = [t for t in self.store.all("table") if t["projectId"] == principal.project_id]
        if q.get("name"):
            rows = [t for t in rows if q["name"].lower() in t["name"].lower()]
        if q.get("externalIds"):
            rows = [t for t in rows if t["externalId"] in q["externalIds"]]
        return paginate(rows, created_key, descending=True, limit=q.get("limit"), cursor=q.get("cursor"), shape=public)

    def get(self, principal: Principal, table_id: str) -> dict[str, Any]:
        return public(self._table(principal, table_id))

    def create(self, principal: Principal, body: dict[str, Any]) -> dict[str, Any]:
        ms = now_ms()
        table = {
            "id": new_id(), "created": iso(ms), "updated": iso(ms), "name": body["name"],
            "projectId": principal.project_id, "externalId": body.get("externalId") or new_id(),
            "status": None, "trigger": None, "_createdMs": ms,
        }
        return public(self.store.put("table", table))

    def update(self, principal: Principal, table_id: str, body: dict[str, Any]) -> dict[str, Any]:
        table = self._table(principal, table_id)
        for key in ("name", "trigger", "status"):
            if key in body:
                table[key] = body[key]
        table["updated"] = iso(now_ms())
        return public(self.store.put("table", table))

    def delete(self, principal: Principal, table_id: str) -> None:
        self._table(principal, table_id)
        self.clear(principal, table_id)
        for field in self._fields(table_id):
            self.store.delete("field", field["id"])
        self.store.delete("table", table_id)

    def clear(self, principal: Principal, table_id: str) -> None:
        self._table(principal, table_id)
        for record in self._records(table_id):
            self.store.delete("record", record["id"])

    def export(self, principal: Principal, table_id: str) -> dict[str, Any]:
        table = self._table(principal, table_id)
        fields = self._fields(table_id)
        rows = [
            {f["name"]: rec["cells"].get(f["id"], {}).get("value") for f in fields}
            for rec in self._records(table_id)
        ]
        return {"name": table["name"], "fields": [{"id": f["id"], "name": f["name"]} for f in fields], "rows": rows}

    # -- fields ----------------------------------------------------------------------------------------
    def _fields(self, table_id: str) -> builtins.list[dict[str, Any]]:
        return self._of_table("field", table_id)

    def _field(self, principal: Principal, field_id: str) -> dict[str, Any]:
        return self._owned("field", "Field", principal, field_id)

    def list_fields(self, principal: Principal, table_id: str) -> builtins.list[dict[str, Any]]:
        self._table(principal, table_id)
        return [public(f) for f in self._fields(table_id)]

    def create_field(self, principal: Principal, body: dict[str, Any]) -> dict[str, Any]:
        self._table(principal, body["tableId"])
        if len(self._fields(body["tableId"])) >= MAX_FIELDS_PER_TABLE:
            raise EngineError("VALIDATION", {"message": f"Max fields per table reached: {MAX_FIELDS_PER_TABLE}"})
        ms = now_ms()
        # The engine's columns, in its order; `data` is null but for a STATIC_DROPDOWN.
        dropdown = body["type"] == "STATIC_DROPDOWN"
        field = {
            "id": new_id(), "created": iso(ms), "updated": iso(ms), "name": body["name"],
            "type": body["type"], "tableId": body["tableId"], "projectId": principal.project_id,
            "externalId": body.get("externalId") or new_id(),
            "data": (body.get("data") or {"options": []}) if dropdown else None, "_createdMs": ms,
        }
        return public(self.store.put("field", field))

    def get_field(self, principal: Principal, field_id: str) -> dict[str, Any]:
        return public(self._field(principal, field_id))

    def update_field(self, principal: Principal, field_id: str, body: dict[str, Any]) -> dict[str, Any]:
        field = self._field(principal, field_id)
        if "name" in body:
            field["name"] = body["name"]
        if "data" in body and field["type"] == "STATIC_DROPDOWN":
            field["data"] = body["data"]
        field["updated"] = iso(now_ms())
        return public(self.store.put("field", field))

    def delete_field(self, principal: Principal, field_id: str) -> None:
        self._field(principal, field_id)
        self.store.delete("field", field_id)
        for record in self.store.all("record"):
            if field_id in record["cells"]:
                del record["cells"][field_id]
                self.store.put("record", record)

    # -- records ---------------------------------------------------------------------------------------
    def _records(self, table_id: str) -> builtins.list[dict[str, Any]]:
        return self._of_table("record", table_id)

    def _record(self, principal: Principal, record_id: str) -> dict[str, Any]:
        return self._owned("record", "Record", principal, record_id)

    def _cells(self, table_id: str, cells: builtins.list[dict[str, Any]], into: dict[str, Any], ms: int) -> None:
        fields = {f["id"]: f for f in self._fields(table_id)}
        for cell in cells:
            field = fields.get(cell.get("fieldId"))
            if field is None:
                continue  # unknown field ids are dropped
            old = into.get(field["id"])
            into[field["id"]] = {
                "fieldName": field["name"], "value": "" if cell.get("value") is None else str(cell["value"]),
                "created": old["created"] if old else iso(ms), "updated": iso(ms),
            }

    def list_records(self, principal: Principal, q: dict[str, Any]) -> dict[str, Any]:
        table = self.store.get("table", q["tableId"])
        if table is None or table["projectId"] != principal.project_id:
            return {"data": [], "next": None, "previous": None}
        rows = [r for r in self._records(q["tableId"]) if _passes(r, q.get("filters") or [])]
        size = page_size(q.get("limit"))
        if size is not None:
            rows = rows[:size]
        return {"data": [public(r) for r in rows], "next": None, "previous": None}

    def get_record(self, principal: Principal, record_id: str) -> dict[str, Any]:
        return public(self._record(principal, record_id))

    def create_records(self, principal: Principal, body: dict[str, Any]) -> builtins.list[dict[str, Any]]:
        table_id = body["tableId"]
        self._table(principal, table_id)
        if len(self._records(table_id)) + len(body["records"]) > MAX_RECORDS_PER_TABLE:
            raise EngineError("VALIDATION", {"message": f"Max records per table reached: {MAX_RECORDS_PER_TABLE}"})
        out = []
        for cells in body["records"]:
            ms = now_ms()
            record = {
                "id": new_id(), "created": iso(ms), "updated": iso(ms), "tableId": table_id,
                "projectId": principal.project_id, "cells": {}, "_createdMs": ms,
            }
            self._cells(table_id, cells, record["cells"], ms)
            out.append(public(self.store.put("record", record)))
        return out

    def update_record(self, principal: Principal, record_id: str, body: dict[str, Any]) -> dict[str, Any]:
        record = self._record(principal, record_id)
        ms = now_ms()
        self._cells(record["tableId"], body.get("cells") or [], record["cells"], ms)
        record["updated"] = iso(ms)
        return public(self.store.put("record", record))

    def delete_records(self, principal: Principal, ids: builtins.list[str]) -> None:
        for record_id in ids:
            record = self.store.get("record", record_id)
            if record is not None and record["projectId"] == principal.project_id:
                self.store.delete("record", record_id)


def _passes(record: dict[str, Any], filters: list[dict[str, Any]]) -> bool:
    """A record is kept when it has a cell for a filtered field and every such cell passes."""
    if not filters:
        return True
    by_field: dict[Any, list[dict[str, Any]]] = {}
    for flt in filters:
        by_field.setdefault(flt.get("fieldId"), []).append(flt)
    relevant = [fid for fid in by_field if fid in record["cells"]]
    if not relevant:
        return False
    return all(_cell_passes(record["cells"][fid]["value"], flt) for fid in relevant for flt in by_field[fid])


def _cell_passes(value: str, flt: dict[str, Any]) -> bool:
    op, wanted = flt.get("operator"), str(flt.get("value", ""))
    if op is None:
        return True
    if op == "eq":
        return value == wanted
    if op == "neq":
        return value != wanted
    if op == "co":
        return wanted.lower() in value.lower()
    try:
        a, b = float(value), float(wanted)
    except ValueError:
        return False
    return {"gt": a > b, "gte": a >= b, "lt": a < b, "lte": a <= b}.get(op, False)
