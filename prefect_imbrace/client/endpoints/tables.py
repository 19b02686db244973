"""Tables, fields and records (imbrace-api.md §13)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Literal

import httpx
from pydantic import TypeAdapter

from ...exceptions import ImbraceConfigurationError
from .. import _params as p
from .._base import Call, Timeout
from .._resource import endpoint, list_of, nothing, one, page_of, paged
from ..models import Field, Record, Table
from ..pagination import SeekPage
from .flows import StrList

__all__ = ["TableEndpoints"]

_FIELDS = TypeAdapter(list[Field])

Cells = Mapping[str, Any] | Iterable[Mapping[str, Any]]
"""One row: `{field_id: value}`, or the engine's `[{"fieldId": ..., "value": ...}]`."""


def _fields(response: httpx.Response) -> list[Field]:
    data = response.json()
    if isinstance(data, dict) and "data" in data:  # tolerate a SeekPage envelope
        data = data["data"]
    return _FIELDS.validate_python(data)


def _record_filters(filters: Iterable[Mapping[str, Any]] | None) -> dict[str, Any]:
    """`[{"fieldId", "value", "operator"?}]` as the engine's `filters[i][key]` query keys."""
    params: dict[str, Any] = {}
    for i, item in enumerate(filters or ()):
        if "fieldId" not in item:
            raise ImbraceConfigurationError("A record filter is {'fieldId', 'value', 'operator'?}.")
        for key in ("fieldId", "value", "operator"):
            if item.get(key) is not None:
                params[f"filters[{i}][{key}]"] = item[key]
    return params


class TableEndpoints:
    """Imbrace tables, their fields (columns) and records (rows)."""

    @endpoint
    def list_tables(
        self,
        limit: int = 10,
        cursor: str | None = None,
        *,
        name: str | None = None,
        external_ids: StrList = None,
        timeout: Timeout = None,
    ) -> Call[SeekPage[Table]]:
        """One page of tables, newest first (`GET /v1/tables`)."""
        params = {
            "limit": p.limit_of(limit),
            "cursor": cursor,
            "name": name,
            "externalIds": p.str_list("external_ids", external_ids),
        }
        return Call("GET", "/v1/tables", page_of(Table), params=params, timeout=timeout)

    iter_tables = paged(list_tables)

    @endpoint
    def get_table(self, table_id: str, *, timeout: Timeout = None) -> Call[Table]:
        """`GET /v1/tables/{id}`."""
        path = f"/v1/tables/{p.guard_id('table_id', table_id)}"
        return Call("GET", path, one(Table), timeout=timeout)

    @endpoint
    def create_table(
        self, name: str, *, external_id: str | None = None, timeout: Timeout = None
    ) -> Call[Table]:
        """`POST /v1/tables`."""
        p.guard("name", name)
        body = p.without_none(name=name, externalId=external_id)
        return Call("POST", "/v1/tables", one(Table), json=body, timeout=timeout)

    @endpoint
    def update_table(
        self,
        table_id: str,
        *,
        name: str | None = None,
        trigger: Literal["ON_NEW_RECORD", "ON_UPDATE_RECORD"] | None = None,
        status: Literal["ENABLED", "DISABLED"] | None = None,
        timeout: Timeout = None,
    ) -> Call[Table]:
        """`POST /v1/tables/{id}`."""
        body = p.without_none(name=name, trigger=trigger, status=status)
        path = f"/v1/tables/{p.guard_id('table_id', table_id)}"
        return Call("POST", path, one(Table), json=body, timeout=timeout)

    @endpoint
    def delete_table(self, table_id: str, *, timeout: Timeout = None) -> Call[None]:
        """`DELETE /v1/tables/{id}` (204)."""
        path = f"/v1/tables/{p.guard_id('table_id', table_id)}"
        return Call("DELETE", path, nothing, timeout=timeout)

    @endpoint
    def list_fields(self, table_id: str, *, timeout: Timeout = None) -> Call[list[Field]]:
        """The columns of a table (`GET /v1/fields?tableId=`)."""
        params = {"tableId": p.guard_id("table_id", table_id)}
        return Call("GET", "/v1/fields", _fields, params=params, timeout=timeout)

    @endpoint
    def create_field(
        self,
        table_id: str,
        name: str,
        type: Literal["TEXT", "NUMBER", "DATE", "STATIC_DROPDOWN"] = "TEXT",
        *,
        options: Iterable[str] | None = None,
        data: Mapping[str, Any] | None = None,
        external_id: str | None = None,
        timeout: Timeout = None,
    ) -> Call[Field]:
        """Add a column (`POST /v1/fields`); STATIC_DROPDOWN needs `options`."""
        p.guard_id("table_id", table_id)
        p.guard("name", name)
        body: dict[str, Any] = {"tableId": table_id, "name": name, "type": type}
        if options is not None:
            body["data"] = {"options": [{"value": o} for o in options]}
        elif data is not None:
            body["data"] = dict(data)
        elif type == "STATIC_DROPDOWN":
            raise ImbraceConfigurationError(
                "A STATIC_DROPDOWN field needs options=['a', 'b', ...]."
            )
        if external_id is not None:
            body["externalId"] = external_id
        return Call("POST", "/v1/fields", one(Field), json=body, timeout=timeout)

    @endpoint
    def list_records(
        self,
        table_id: str,
        limit: int = 10,
        cursor: str | None = None,
        *,
        filters: Iterable[Mapping[str, Any]] | None = None,
        timeout: Timeout = None,
    ) -> Call[SeekPage[Record]]:
        """The first `limit` matching records, oldest first (`GET /v1/records`; not cursor-paginated).

        `filters`: `[{"fieldId": ..., "value": ..., "operator": "eq" | "co" | "gt" | ...}]`.
        """
        p.guard("table_id", table_id)
        params = {
            "tableId": table_id,
            "limit": p.limit_of(limit),
            "cursor": cursor,
            **_record_filters(filters),
        }
        return Call("GET", "/v1/records", page_of(Record), params=params, timeout=timeout)

    @endpoint
    def get_record(self, record_id: str, *, timeout: Timeout = None) -> Call[Record]:
        """`GET /v1/records/{id}`."""
        path = f"/v1/records/{p.guard('record_id', record_id)}"
        return Call("GET", path, one(Record), timeout=timeout)

    @endpoint
    def create_records(
        self, table_id: str, records: Iterable[Cells], *, timeout: Timeout = None
    ) -> Call[list[Record]]:
        """Insert rows, each `{field_id: value}` (`POST /v1/records`, 201); values are stored as text."""
        body = {"tableId": p.guard_id("table_id", table_id), "records": p.records_body(records)}
        return Call("POST", "/v1/records", list_of(Record), json=body, timeout=timeout)

    @endpoint
    def update_record(
        self,
        record_id: str,
        table_id: str,
        cells: Cells | None = None,
        *,
        timeout: Timeout = None,
    ) -> Call[Record]:
        """Change cells of one record (`POST /v1/records/{id}`)."""
        body: dict[str, Any] = {"tableId": p.guard_id("table_id", table_id)}
        if cells is not None:
            body["cells"] = p.records_body([cells])[0]
        path = f"/v1/records/{p.guard('record_id', record_id)}"
        return Call("POST", path, one(Record), json=body, timeout=timeout)

    @endpoint
    def delete_records(self, ids: StrList, *, timeout: Timeout = None) -> Call[None]:
        """`DELETE /v1/records` with `{ids}` (204)."""
        id_list = p.str_list("ids", ids) or []
        if not id_list:
            raise ImbraceConfigurationError("delete_records needs at least one record id.")
        return Call("DELETE", "/v1/records", nothing, json={"ids": id_list}, timeout=timeout)
