"""`valid` flags of steps and versions, and piece-version pinning at lock time.

Rules (see docs/local-engine.md): EMPTY trigger invalid; PIECE trigger/action valid when
Imbrace Local knows the piece and the trigger/action and its inputs pass the engine's property
check (`inputs_valid`: required properties present with their type, defaults not counted; a
schedule trigger must also give a usable schedule); CODE keeps the
client's flag; LOOP_ON_ITEMS needs a non-empty `items`; ROUTER/MULTIPLE_CHOICE needs a valid
`executionType` and at least one branch, each CONDITION branch with filled-in conditions
(`condition_is_valid`: the engine's schema with its non-empty values).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from typing import Any

from . import pieces
from .conditions import condition_is_valid
from .pieces.base import inputs_valid
from .triggers import SCHEDULE_PIECE, schedule_of

_EXECUTION_TYPES = ("EXECUTE_FIRST_MATCH", "EXECUTE_ALL_MATCH")


def iter_steps(step: dict | None) -> Iterator[dict]:
    """Every step from `step` on: the chain, loop bodies and router branches (depth first)."""
    while step is not None:
        yield step
        yield from iter_steps(step.get("firstLoopAction"))
        for child in step.get("children") or []:
            yield from iter_steps(child)
        step = step.get("nextAction")


def step_is_valid(step: dict) -> bool:
    kind, settings = step.get("type"), step.get("settings") or {}
    if kind == "EMPTY":
        return False
    if kind == "PIECE_TRIGGER":
        trigger = pieces.find_trigger(settings.get("pieceName"), settings.get("triggerName"))
        if trigger is None or not inputs_valid(trigger.props, settings.get("input")):
            return False
        return settings.get("pieceName") != SCHEDULE_PIECE or schedule_of(step) is not None
    if kind == "PIECE":
        action = pieces.find_action(settings.get("pieceName"), settings.get("actionName"))
        return action is not None and inputs_valid(action.props, settings.get("input"))
    if kind == "CODE":
        return step.get("valid") is True
    if kind == "LOOP_ON_ITEMS":
        items = settings.get("items")
        return isinstance(items, str) and bool(items.strip())
    if kind in ("ROUTER", "MULTIPLE_CHOICE"):
        branches = settings.get("branches")
        return (settings.get("executionType") in _EXECUTION_TYPES and isinstance(branches, list)
                and bool(branches) and all(_branch_is_valid(b) for b in branches))
    return False


def _branch_is_valid(branch: Any) -> bool:
    """A FALLBACK branch, or a CONDITION branch whose every condition is filled in."""
    if not isinstance(branch, dict):
        return False
    if branch.get("branchType") == "FALLBACK":
        return True
    groups = branch.get("conditions")
    return branch.get("branchType") == "CONDITION" and isinstance(groups, list) and all(
        isinstance(group, list) and all(condition_is_valid(c) for c in group) for group in groups)


def refresh_validity(trigger: dict) -> dict:
    """Recompute `valid` on every step in place; returns the trigger."""
    for step in iter_steps(trigger):
        step["valid"] = step_is_valid(step)
    return trigger


def version_is_valid(trigger: dict) -> bool:
    """A version is valid iff every step is (the engine ANDs the step flags)."""
    return all(step_is_valid(step) for step in iter_steps(trigger))


_RANGE = re.compile(r"^[~^]")


def pin_piece_versions(trigger: dict) -> dict:
    """A copy with `~X.Y.Z` / `^X.Y.Z` piece versions pinned to the exact `X.Y.Z` (LOCK)."""
    pinned = copy.deepcopy(trigger)
    for step in iter_steps(pinned):
        settings = step.get("settings")
        if isinstance(settings, dict) and isinstance(settings.get("pieceVersion"), str):
            settings["pieceVersion"] = _RANGE.sub("", settings["pieceVersion"])
    return pinned
