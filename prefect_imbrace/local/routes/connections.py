"""App connections (imbrace-api.md §9)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from ._common import (
    ID,
    PAGE,
    PREFIX,
    backend,
    body_of,
    empty,
    endpoint,
    ok,
    path_id,
    principal,
    query,
    same_project,
)

router = APIRouter()
S1 = {"type": "string", "minLength": 1}
_VALUES: dict[str, dict[str, Any]] = {
    "SECRET_TEXT": {"secret_text": S1},
    "BASIC_AUTH": {"username": S1, "password": S1},
    "CUSTOM_AUTH": {"props": {"type": "object", "additionalProperties": True}},
    "NO_AUTH": {},
    "OAUTH2": {"client_id": S1, "client_secret": S1, "code": S1, "redirect_url": S1, "scope": {"type": "string"}},
    "CLOUD_OAUTH2": {"client_id": S1, "code": S1, "scope": {"type": "string"}},
    "PLATFORM_OAUTH2": {"client_id": S1, "code": S1, "scope": {"type": "string"}, "redirect_url": S1},
}
_COMMON = {
    "externalId": {"type": "string"}, "displayName": {"type": "string"}, "pieceName": {"type": "string"},
    "projectId": {"type": "string"}, "metadata": {"type": ["object", "null"], "additionalProperties": True},
}
UPSERT_BODY = {"anyOf": [
    {
        "type": "object", "required": ["externalId", "displayName", "pieceName", "type", "value"],
        "properties": {
            **_COMMON, "type": {"type": "string", "const": kind},
            "value": {
                "type": "object", "required": ["type", *fields],
                "properties": {"type": {"type": "string", "const": kind}, **fields},
                "additionalProperties": True,
            },
        },
    }
    for kind, fields in _VALUES.items()
]}
LIST_QUERY = {
    **PAGE, "projectId": {"type": "string"}, "pieceName": {"type": "string"}, "displayName": {"type": "string"},
    "status": {"type": "array", "items": {"type": "string", "enum": ["ACTIVE", "MISSING", "ERROR"]}},
    "scope": {"type": "string", "enum": ["PROJECT", "PLATFORM"]}, "imbraceUserId": {"type": "string"},
}
REPLACE_BODY = {"type": "object", "required": ["sourceAppConnectionId", "targetAppConnectionId"],
                "properties": {"sourceAppConnectionId": ID, "targetAppConnectionId": ID}}
RENAME_BODY = {"type": "object", "required": ["displayName"], "properties": {
    "displayName": S1, "metadata": {"type": ["object", "null"], "additionalProperties": True}}}


@endpoint(router, ["GET"], PREFIX + "/app-connections", "List app connections", query=LIST_QUERY)
async def list_connections(request: Request) -> Response:
    who = principal(request)
    q = query(request, LIST_QUERY)
    same_project(who, q)
    b = backend(request)
    return ok(b.connections.list(who, q, b.flow_ids_using))


@endpoint(router, ["GET"], PREFIX + "/app-connections/owners", "Owners of the project's connections", query=PAGE)
async def connection_owners(request: Request) -> Response:
    return ok(backend(request).connections.owners(principal(request), query(request, PAGE)))


@endpoint(router, ["POST"], PREFIX + "/app-connections/replace", "Replace one connection by another in every flow",
          body=REPLACE_BODY)
async def replace_connection(request: Request) -> Response:
    body = await body_of(request, REPLACE_BODY)
    b = backend(request)
    b.connections.replace(principal(request), body["sourceAppConnectionId"], body["targetAppConnectionId"], b.flows)
    return empty(200)


@endpoint(router, ["GET"], PREFIX + "/app-connections/{id}", "Get a connection with its secret value", params={"id": ID})
async def get_connection(request: Request) -> Response:
    conn_id = path_id(request)
    return ok(backend(request).connections.get(principal(request), conn_id))


@endpoint(router, ["POST"], PREFIX + "/app-connections", "Upsert a connection by externalId", body=UPSERT_BODY, ok=201)
async def upsert_connection(request: Request) -> Response:
    who = principal(request)
    body = await body_of(request, UPSERT_BODY)
    same_project(who, body)
    return ok(backend(request).connections.upsert(who, body), 201)


@endpoint(router, ["POST"], PREFIX + "/app-connections/{id}", "Rename a connection", params={"id": ID}, body=RENAME_BODY)
async def rename_connection(request: Request) -> Response:
    conn_id = path_id(request)
    body = await body_of(request, RENAME_BODY)
    return ok(backend(request).connections.rename(principal(request), conn_id, body))


@endpoint(router, ["DELETE"], PREFIX + "/app-connections/{id}", "Delete a connection", params={"id": ID}, ok=204)
async def delete_connection(request: Request) -> Response:
    conn_id = path_id(request)
    backend(request).connections.delete(principal(request), conn_id)
    return empty(204)
