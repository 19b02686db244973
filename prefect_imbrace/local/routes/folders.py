"""Folders (imbrace-api.md §8). Folder ids are plain strings on these routes (no pattern)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from ._common import (
    PAGE,
    PREFIX,
    backend,
    body_of,
    empty,
    endpoint,
    ok,
    principal,
    query,
    same_project,
)

router = APIRouter()
FOLDER_ID = {"id": {"type": "string"}}
LIST_QUERY = {**PAGE, "projectId": {"type": "string"}}
CREATE_BODY = {"type": "object", "required": ["displayName"],
               "properties": {"displayName": {"type": "string"}, "projectId": {"type": "string"}}}
UPDATE_BODY = {"type": "object", "required": ["displayName"], "properties": {"displayName": {"type": "string"}}}


@endpoint(router, ["GET"], PREFIX + "/folders", "List folders", query=LIST_QUERY)
async def list_folders(request: Request) -> Response:
    who = principal(request)
    q = query(request, LIST_QUERY)
    same_project(who, q)
    return ok(backend(request).folders.list(who, q))


@endpoint(router, ["GET"], PREFIX + "/folders/{id}", "Get a folder", params=FOLDER_ID)
async def get_folder(request: Request) -> Response:
    return ok(backend(request).folders.get(principal(request), request.path_params["id"]))


@endpoint(router, ["POST"], PREFIX + "/folders", "Create (or find by name) a folder", body=CREATE_BODY)
async def create_folder(request: Request) -> Response:
    who = principal(request)
    body = await body_of(request, CREATE_BODY)
    same_project(who, body)
    return ok(backend(request).folders.create(who, body))


@endpoint(router, ["POST"], PREFIX + "/folders/{id}", "Rename a folder", params=FOLDER_ID, body=UPDATE_BODY)
async def update_folder(request: Request) -> Response:
    body = await body_of(request, UPDATE_BODY)
    return ok(backend(request).folders.update(principal(request), request.path_params["id"], body))


@endpoint(router, ["DELETE"], PREFIX + "/folders/{id}", "Delete a folder", params=FOLDER_ID)
async def delete_folder(request: Request) -> Response:
    backend(request).folders.delete(principal(request), request.path_params["id"])
    return empty(200)
