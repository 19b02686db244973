"""The piece catalogue: exactly the pieces Imbrace Local can execute."""

from __future__ import annotations

import hashlib
from datetime import datetime, timezone

from . import data_mapper, delay, http, schedule, webhook
from .base import Action, Piece, Trigger

PIECES: dict[str, Piece] = {
    p.name: p for p in (data_mapper.PIECE, delay.PIECE, http.PIECE, schedule.PIECE, webhook.PIECE)
}
_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_LOADED = datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _piece_id(name: str) -> str:
    """A stable 21-char id per piece (the real engine's ids are random per database)."""
    number = int.from_bytes(hashlib.sha256(name.encode()).digest(), "big")
    chars = []
    for _ in range(21):
        number, rest = divmod(number, len(_ALPHABET))
        chars.append(_ALPHABET[rest])
    return "".join(chars)


def find_piece(name: str | None) -> Piece | None:
    return PIECES.get(name or "")


def find_action(piece_name: str | None, action_name: str | None) -> Action | None:
    piece = find_piece(piece_name)
    return piece.action(action_name or "") if piece else None


def find_trigger(piece_name: str | None, trigger_name: str | None) -> Trigger | None:
    piece = find_piece(piece_name)
    return piece.trigger(trigger_name or "") if piece else None


def _summary(piece: Piece) -> dict:
    return {
        "id": _piece_id(piece.name),
        "name": piece.name,
        "displayName": piece.display_name,
        "logoUrl": piece.logo_url,
        "description": piece.description,
        "authors": list(piece.authors),
        "version": piece.version,
        "minimumSupportedRelease": piece.minimum_supported_release,
        "categories": list(piece.categories),
        "actions": len(piece.actions),
        "triggers": len(piece.triggers),
        "projectUsage": 0,
        "pieceType": "OFFICIAL",
        "packageType": "REGISTRY",
        "created": _LOADED,
        "updated": _LOADED,
    }


def list_pieces() -> list[dict]:
    """`GET /v1/pieces` items, sorted by display name."""
    return [_summary(p) for p in sorted(PIECES.values(), key=lambda p: p.display_name)]


def get_piece(name: str) -> dict | None:
    """`GET /v1/pieces/{name}`: the summary with `actions`/`triggers` as name -> metadata maps."""
    piece = PIECES.get(name)
    if piece is None:
        return None
    return {
        **_summary(piece),
        "actions": {a.name: a.metadata() for a in piece.actions},
        "triggers": {t.name: t.metadata() for t in piece.triggers},
    }
