"""MCP servers (imbrace-api.md §12; projectId required on list/create as the transcript shows)."""

from __future__ import annotations

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
LIST_QUERY = {**PAGE, "projectId": {"type": "string"}, "name": {"type": "string"}}
CREATE_BODY = {"type": "object", "required": ["name", "projectId"],
               "properties": {"name": {"type": "string"}, "projectId": {"type": "string"}}}
S = {"type": "string"}
TOOL = {"anyOf": [
    {"type": "object", "required": ["type", "toolName", "pieceMetadata"], "properties": {
        "type": {"type": "string", "const": "PIECE"}, "toolName": S,
        "pieceMetadata": {"type": "object", "required": ["pieceName", "pieceVersion", "actionName", "actionDisplayName", "logoUrl"],
                          "properties": {"pieceName": S, "pieceVersion": S, "actionName": S, "actionDisplayName": S,
                                         "logoUrl": S, "connectionExternalId": S}}}},
    {"type": "object", "required": ["type", "toolName", "flowId"], "properties": {
        "type": {"type": "string", "const": "FLOW"}, "toolName": S, "flowId": ID}},
]}
UPDATE_BODY = {"type": "object", "properties": {"name": S, "tools": {"type": "array", "items": TOOL}}}


@endpoint(router, ["GET"], PREFIX + "/mcp-servers", "List MCP servers", query=LIST_QUERY)
async def list_servers(request: Request) -> Response:
    who = principal(request)
    q = query(request, LIST_QUERY, required=["projectId"])
    same_project(who, q)
    return ok(backend(request).mcp.list(who, q))


@endpoint(router, ["GET"], PREFIX + "/mcp-servers/{id}", "Get an MCP server", params={"id": ID})
async def get_server(request: Request) -> Response:
    mcp_id = path_id(request)
    return ok(backend(request).mcp.get(principal(request), mcp_id))


@endpoint(router, ["POST"], PREFIX + "/mcp-servers", "Create an MCP server", body=CREATE_BODY)
async def create_server(request: Request) -> Response:
    who = principal(request)
    body = await body_of(request, CREATE_BODY)
    same_project(who, body)
    return ok(backend(request).mcp.create(who, body))


@endpoint(router, ["POST"], PREFIX + "/mcp-servers/{id}", "Update an MCP server (tools replace the list)",
          params={"id": ID}, body=UPDATE_BODY)
async def update_server(request: Request) -> Response:
    mcp_id = path_id(request)
    body = await body_of(request, UPDATE_BODY)
    return ok(backend(request).mcp.update(principal(request), mcp_id, body))


@endpoint(router, ["POST"], PREFIX + "/mcp-servers/{id}/rotate", "Rotate the token", params={"id": ID})
async def rotate_token(request: Request) -> Response:
    mcp_id = path_id(request)
    return ok(backend(request).mcp.rotate(principal(request), mcp_id))


@endpoint(router, ["DELETE"], PREFIX + "/mcp-servers/{id}", "Delete an MCP server", params={"id": ID}, ok=204)
async def delete_server(request: Request) -> Response:
    mcp_id = path_id(request)
    backend(request).mcp.delete(principal(request), mcp_id)
    return empty(204)
