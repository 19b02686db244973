"""Flows: list, get, create, delete, count and the 20 operations (imbrace-api.md §5)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from ..backend.flows import OPERATION_TYPES
from ..errors import RequestValidationError
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
STATUS_LIST = {"type": "array", "items": {"type": "string", "enum": ["ENABLED", "DISABLED"]}}
STRINGS = {"type": "array", "items": {"type": "string"}}
LIST_QUERY = {
    **PAGE, "projectId": {"type": "string"}, "folderId": {"type": "string"}, "status": STATUS_LIST,
    "name": {"type": "string"}, "versionState": {"type": "string", "enum": ["DRAFT", "LOCKED"]},
    "externalIds": STRINGS, "connectionExternalIds": STRINGS, "agentExternalIds": STRINGS, "tags": STRINGS,
    "operationStatus": {"type": "array", "items": {"type": "string", "enum": ["NONE", "DELETING", "ENABLING", "DISABLING"]}},
}
CREATE_BODY = {
    "type": "object", "required": ["displayName"],
    "properties": {
        "displayName": {"type": "string"}, "projectId": {"type": "string"}, "folderId": {"type": "string"},
        "folderName": {"type": "string"}, "metadata": {"type": ["object", "null"], "additionalProperties": True},
    },
}
OPERATION_BODY = {
    "type": "object", "required": ["type", "request"],
    "properties": {"type": {"type": "string", "enum": OPERATION_TYPES},
                   "request": {"type": "object", "additionalProperties": True}},
}


@endpoint(router, ["GET"], PREFIX + "/flows", "List flows", query=LIST_QUERY)
async def list_flows(request: Request) -> Response:
    who = principal(request)
    q = query(request, LIST_QUERY)
    same_project(who, q)
    return ok(backend(request).flows.list(who, q))


@endpoint(router, ["GET"], PREFIX + "/flows/count", "Count flows", query={"projectId": {"type": "string"}})
async def count_flows(request: Request) -> Response:
    who = principal(request)
    same_project(who, query(request, {"projectId": {"type": "string"}}))
    return ok(backend(request).flows.count(who))


@endpoint(router, ["GET"], PREFIX + "/flows/{id}", "Get a flow", params={"id": ID}, query={"versionId": ID})
async def get_flow(request: Request) -> Response:
    flow_id = path_id(request)
    q = query(request, {"versionId": ID})
    return ok(backend(request).flows.get(principal(request), flow_id, q.get("versionId")))


@endpoint(router, ["POST"], PREFIX + "/flows", "Create a flow", body=CREATE_BODY, ok=201)
async def create_flow(request: Request) -> Response:
    who = principal(request)
    body = await body_of(request, CREATE_BODY)
    same_project(who, body)
    b = backend(request)
    return ok(b.flows.create(who, body, b.folders), 201)


@endpoint(router, ["POST"], PREFIX + "/flows/{id}", "Apply a flow operation", params={"id": ID}, body=OPERATION_BODY)
async def operate(request: Request) -> Response:
    flow_id = path_id(request)
    try:
        body = await body_of(request, OPERATION_BODY)
    except RequestValidationError as exc:
        if exc.message.startswith("body/"):  # a bad type/request is one failed branch of the anyOf
            raise RequestValidationError("body must match a schema in anyOf") from None
        raise
    return ok(backend(request).flows.operate(principal(request), flow_id, body))


@endpoint(router, ["DELETE"], PREFIX + "/flows/{id}", "Delete a flow (asynchronously)", params={"id": ID}, ok=204)
async def delete_flow(request: Request) -> Response:
    flow_id = path_id(request)
    backend(request).flows.delete(principal(request), flow_id)
    return empty(204)
