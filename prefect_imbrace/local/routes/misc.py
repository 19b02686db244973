"""Project, pieces, trigger status, test-trigger, invitations and flags (§3, §10, §11, §14)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from .. import engine
from ..errors import entity_not_found
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
S = {"type": "string"}
TEST_TRIGGER = {"type": "object", "required": ["flowId", "flowVersionId", "testStrategy"], "properties": {
    "flowId": ID, "flowVersionId": ID, "testStrategy": {"type": "string", "enum": ["SIMULATION", "TEST_FUNCTION"]}}}
STOP_LISTENING = {"type": "object", "required": ["flowId"], "properties": {"flowId": ID}}
INVITATION_TYPE = {"type": "string", "enum": ["PLATFORM", "PROJECT"]}
INVITATIONS_QUERY = {**PAGE, "type": INVITATION_TYPE, "projectId": {"type": ["string", "null"]},
                     "status": {"type": "string", "enum": ["PENDING", "ACCEPTED"]}}
INVITE_BODY = {"type": "object", "required": ["type", "email"], "properties": {
    "type": INVITATION_TYPE, "email": S, "projectId": S, "projectRole": S, "platformRole": S}}
PIECES_QUERY = {"release": S, "includeTags": {"type": "boolean"}, "includeHidden": {"type": "boolean"},
                "edition": {"type": "string", "enum": ["ce", "ee", "cloud"]}, "searchQuery": S}



@endpoint(router, ["GET"], PREFIX + "/users/projects/{id}", "The caller's project (any id, e.g. `current`)",
          params={"id": S})
async def current_project(request: Request) -> Response:
    return ok(backend(request).project(principal(request)))


@endpoint(router, ["GET"], PREFIX + "/users/projects", "The caller's projects")
async def list_projects(request: Request) -> Response:
    return ok({"data": [backend(request).project(principal(request))], "next": None, "previous": None})


ENGINE_ROOT = "/usr/src/app"
"""Where the engine's image keeps its build; its local pieces load from `dist/packages/pieces`."""


_LISTED = ("id", "displayName", "logoUrl", "actions", "triggers", "categories", "description", "authors",
           "minimumSupportedRelease", "name", "version", "directoryPath", "projectUsage", "pieceType",
           "packageType", "created", "updated")
"""A listed piece's keys in the engine's order (reference transcript, GET /v1/pieces)."""


def listed_piece(piece: dict[str, Any]) -> dict[str, Any]:
    """A catalogue item as the engine lists it: with the `directoryPath` the piece loaded from."""
    short = piece["name"].removeprefix("@activepieces/piece-")
    item = {**piece, "directoryPath": f"{ENGINE_ROOT}/dist/packages/pieces/community/{short}"}
    return {**{k: item[k] for k in _LISTED if k in item}, **item}


@endpoint(router, ["GET"], PREFIX + "/pieces", "The piece catalogue (a bare array)", query=PIECES_QUERY)
async def list_pieces(request: Request) -> Response:
    q = query(request, PIECES_QUERY)
    pieces = [listed_piece(p) for p in engine.list_pieces()]
    if q.get("searchQuery"):
        needle = q["searchQuery"].lower()
        pieces = [p for p in pieces if needle in p.get("name", "").lower() or needle in p.get("displayName", "").lower()]
    return ok(pieces)


@endpoint(router, ["GET"], PREFIX + "/pieces/categories", "Piece categories in use")
async def piece_categories(request: Request) -> Response:
    principal(request)
    return ok(sorted({c for piece in engine.list_pieces() for c in piece.get("categories") or []}))


@endpoint(router, ["GET"], PREFIX + "/pieces/{name:path}", "One piece's full metadata", params={"name": S})
async def get_piece(request: Request) -> Response:
    name = request.path_params["name"]
    piece = engine.get_piece(name)
    if piece is None:
        raise entity_not_found("piece", name, message=f"piece_metadata_not_found pieceName={name}")
    return ok(piece)


@endpoint(router, ["GET"], PREFIX + "/trigger-runs/status", "Trigger execution counters")
async def trigger_status(request: Request) -> Response:
    principal(request)
    return ok(backend(request).trigger_status())


@endpoint(router, ["POST"], PREFIX + "/test-trigger", "Toggle listening or test a trigger", body=TEST_TRIGGER)
async def test_trigger(request: Request) -> Response:
    body = await body_of(request, TEST_TRIGGER)
    result = backend(request).test_trigger(principal(request), body)
    return empty(200) if result is None else ok(result)


@endpoint(router, ["DELETE"], PREFIX + "/test-trigger", "Stop listening", body=STOP_LISTENING)
async def stop_listening(request: Request) -> Response:
    body = await body_of(request, STOP_LISTENING)
    backend(request).stop_listening(principal(request), body["flowId"])
    return empty(200)


@endpoint(router, ["GET"], PREFIX + "/user-invitations", "List invitations", query=INVITATIONS_QUERY)
async def list_invitations(request: Request) -> Response:
    who = principal(request)
    q = query(request, INVITATIONS_QUERY, required=["type"])
    same_project(who, q)
    return ok(backend(request).invitations(who, q))


@endpoint(router, ["POST"], PREFIX + "/user-invitations", "Invite a user", body=INVITE_BODY, ok=201)
async def invite(request: Request) -> Response:
    body = await body_of(request, INVITE_BODY)
    backend(request).create_invitation(principal(request), body)
    return empty(201)  # pragma: no cover - create_invitation always refuses through the gateway


@endpoint(router, ["DELETE"], PREFIX + "/user-invitations/{id}", "Delete an invitation", params={"id": ID}, ok=204)
async def delete_invitation(request: Request) -> Response:
    invitation_id = path_id(request)
    principal(request)
    raise entity_not_found("UserInvitation", invitation_id)


@endpoint(router, ["GET"], PREFIX + "/flags", "Server flags")
async def flags(request: Request) -> Response:
    config = backend(request).config
    base = str(request.base_url).rstrip("/")
    return ok({
        "ENVIRONMENT": "prod", "EDITION": "ce", "CURRENT_VERSION": "0.72.4", "LATEST_VERSION": "0.0.0",
        "ENABLE_FLOW_ON_PUBLISH": True, "EXECUTION_DATA_RETENTION_DAYS": 30,
        "FLOW_RUN_TIME_SECONDS": int(config.run_timeout), "PAUSED_FLOW_TIMEOUT_DAYS": 30,
        "WEBHOOK_TIMEOUT_SECONDS": int(config.sync_timeout), "MAX_RECORDS_PER_TABLE": 1500,
        "MAX_FIELDS_PER_TABLE": 15, "MAX_FILE_SIZE_MB": 4, "PUBLIC_URL": base + "/activepieces/",
        "WEBHOOK_URL_PREFIX": base + "/activepieces/v1/webhooks", "SUPPORTED_APP_WEBHOOKS": [],
    })
