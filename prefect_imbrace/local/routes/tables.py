"""Tables, fields and records (imbrace-api.md §13). Table ids are plain strings on these routes."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from ._common import PAGE, PREFIX, backend, body_of, empty, endpoint, ok, principal, query

router = APIRouter()
S = {"type": "string"}
PID = {"id": S}
LIST_QUERY = {**PAGE, "name": S, "externalIds": {"type": "array", "items": S}}
CREATE_BODY = {"type": "object", "required": ["name"], "properties": {"name": S, "externalId": S}}
UPDATE_BODY = {"type": "object", "properties": {
    "name": S, "trigger": {"type": ["string", "null"], "enum": ["ON_NEW_RECORD", "ON_UPDATE_RECORD", None]},
    "status": {"type": ["string", "null"], "enum": ["ENABLED", "DISABLED", None]}}}
FIELD_TYPES = ["TEXT", "NUMBER", "DATE", "STATIC_DROPDOWN"]
FIELD_BODY = {"type": "object", "required": ["name", "type", "tableId"], "properties": {
    "name": S, "type": {"type": "string", "enum": FIELD_TYPES}, "tableId": S, "externalId": S,
    "data": {"type": "object", "additionalProperties": True}}}
FIELD_UPDATE = {"type": "object", "properties": {"name": S, "data": {"type": "object", "additionalProperties": True}}}
CELL = {"type": "object", "required": ["fieldId", "value"], "properties": {"fieldId": S, "value": {}}}
FILTER = {"type": "object", "required": ["fieldId", "value"], "properties": {
    "fieldId": S, "value": S, "operator": {"type": "string", "enum": ["eq", "neq", "gt", "gte", "lt", "lte", "co"]}}}
RECORDS_QUERY = {**PAGE, "tableId": S, "filters": {"type": "array", "items": FILTER}}
RECORDS_BODY = {"type": "object", "required": ["tableId", "records"], "properties": {
    "tableId": S, "records": {"type": "array", "items": {"type": "array", "items": CELL}}}}
RECORD_UPDATE = {"type": "object", "required": ["tableId"], "properties": {
    "tableId": S, "cells": {"type": "array", "items": CELL}, "agentUpdate": {"type": "boolean"}}}
DELETE_RECORDS = {"type": "object", "required": ["ids"], "properties": {"ids": {"type": "array", "items": S}}}


@endpoint(router, ["GET"], PREFIX + "/tables", "List tables", query=LIST_QUERY)
async def list_tables(request: Request) -> Response:
    return ok(backend(request).tables.list(principal(request), query(request, LIST_QUERY)))


@endpoint(router, ["GET"], PREFIX + "/tables/{id}", "Get a table", params=PID)
async def get_table(request: Request) -> Response:
    return ok(backend(request).tables.get(principal(request), request.path_params["id"]))


@endpoint(router, ["POST"], PREFIX + "/tables", "Create a table", body=CREATE_BODY)
async def create_table(request: Request) -> Response:
    body = await body_of(request, CREATE_BODY)
    return ok(backend(request).tables.create(principal(request), body))


@endpoint(router, ["POST"], PREFIX + "/tables/{id}", "Update a table", params=PID, body=UPDATE_BODY)
async def update_table(request: Request) -> Response:
    body = await body_of(request, UPDATE_BODY)
    return ok(backend(request).tables.update(principal(request), request.path_params["id"], body))


@endpoint(router, ["DELETE"], PREFIX + "/tables/{id}", "Delete a table", params=PID, ok=204)
async def delete_table(request: Request) -> Response:
    backend(request).tables.delete(principal(request), request.path_params["id"])
    return empty(204)


@endpoint(router, ["POST"], PREFIX + "/tables/{id}/clear", "Delete every record of a table", params=PID, ok=204)
async def clear_table(request: Request) -> Response:
    backend(request).tables.clear(principal(request), request.path_params["id"])
    return empty(204)


@endpoint(router, ["GET"], PREFIX + "/tables/{id}/export", "Export a table", params=PID)
async def export_table(request: Request) -> Response:
    return ok(backend(request).tables.export(principal(request), request.path_params["id"]))


@endpoint(router, ["GET"], PREFIX + "/fields", "List the fields of a table", query={"tableId": S})
async def list_fields(request: Request) -> Response:
    q = query(request, {"tableId": S}, required=["tableId"])
    return ok(backend(request).tables.list_fields(principal(request), q["tableId"]))


@endpoint(router, ["POST"], PREFIX + "/fields", "Create a field", body=FIELD_BODY, ok=201)
async def create_field(request: Request) -> Response:
    body = await body_of(request, FIELD_BODY)
    return ok(backend(request).tables.create_field(principal(request), body), 201)


@endpoint(router, ["GET"], PREFIX + "/fields/{id}", "Get a field", params=PID)
async def get_field(request: Request) -> Response:
    return ok(backend(request).tables.get_field(principal(request), request.path_params["id"]))


@endpoint(router, ["POST"], PREFIX + "/fields/{id}", "Update a field", params=PID, body=FIELD_UPDATE)
async def update_field(request: Request) -> Response:
    body = await body_of(request, FIELD_UPDATE)
    return ok(backend(request).tables.update_field(principal(request), request.path_params["id"], body))


@endpoint(router, ["DELETE"], PREFIX + "/fields/{id}", "Delete a field", params=PID)
async def delete_field(request: Request) -> Response:
    backend(request).tables.delete_field(principal(request), request.path_params["id"])
    return empty(200)


@endpoint(router, ["GET"], PREFIX + "/records", "List records (never paginated)", query=RECORDS_QUERY)
async def list_records(request: Request) -> Response:
    q = query(request, RECORDS_QUERY, required=["tableId"])
    return ok(backend(request).tables.list_records(principal(request), q))


@endpoint(router, ["GET"], PREFIX + "/records/{id}", "Get a record", params=PID)
async def get_record(request: Request) -> Response:
    return ok(backend(request).tables.get_record(principal(request), request.path_params["id"]))


@endpoint(router, ["POST"], PREFIX + "/records", "Create records", body=RECORDS_BODY, ok=201)
async def create_records(request: Request) -> Response:
    body = await body_of(request, RECORDS_BODY)
    return ok(backend(request).tables.create_records(principal(request), body), 201)


@endpoint(router, ["POST"], PREFIX + "/records/{id}", "Update a record", params=PID, body=RECORD_UPDATE)
async def update_record(request: Request) -> Response:
    body = await body_of(request, RECORD_UPDATE)
    return ok(backend(request).tables.update_record(principal(request), request.path_params["id"], body))


@endpoint(router, ["DELETE"], PREFIX + "/records", "Delete records", body=DELETE_RECORDS, ok=204)
async def delete_records(request: Request) -> Response:
    body = await body_of(request, DELETE_RECORDS)
    backend(request).tables.delete_records(principal(request), body["ids"])
    return empty(204)
