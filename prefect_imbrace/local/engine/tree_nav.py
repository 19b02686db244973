"""Finding, detaching and inserting steps in a trigger tree; request checks shared by operations.

Names are public inside the engine package (tree.py and branches.py use them) but not exported.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

from ..errors import EngineError, RequestValidationError
from .validity import iter_steps

ACTION_TYPES = ("PIECE", "CODE", "LOOP_ON_ITEMS", "ROUTER", "MULTIPLE_CHOICE")
ROUTER_TYPES = ("ROUTER", "MULTIPLE_CHOICE")
STRUCTURE = ("nextAction", "firstLoopAction", "children")


def schema_error() -> RequestValidationError:
    return RequestValidationError("body must match a schema in anyOf")


def invalid(message: str) -> EngineError:
    return EngineError("FLOW_OPERATION_INVALID", {"message": message})


def not_found(name: Any) -> EngineError:
    return EngineError("STEP_NOT_FOUND", {"stepName": name})


def require(request: dict, key: str, kind: type | tuple[type, ...]) -> Any:
    value = request.get(key)
    if not isinstance(value, kind) or isinstance(value, bool) and kind is int:
        raise schema_error()
    return value


def requested_names(request: dict) -> list[str]:
    value = require(request, "names", list)
    if not all(isinstance(n, str) for n in value):
        raise schema_error()
    return value


def find(root: dict, name: Any) -> dict | None:
    return next((s for s in iter_steps(root) if s.get("name") == name), None)


def get(root: dict, name: Any) -> dict:
    step = find(root, name)
    if step is None:
        raise not_found(name)
    return step


def slots(root: dict) -> Iterator[tuple[Any, Any]]:
    """(container, key) for every place a step hangs: nextAction, firstLoopAction, children[i]."""
    for step in iter_steps(root):
        for key in ("nextAction", "firstLoopAction"):
            if step.get(key) is not None:
                yield step, key
        children = step.get("children") or []
        for index, child in enumerate(children):
            if child is not None:
                yield children, index


def unlink(root: dict, name: str) -> dict | None:
    """Detach a step (with its sub-steps); its successor takes its place."""
    for container, key in slots(root):
        step = container[key]
        if step.get("name") != name:
            continue
        successor = step.pop("nextAction", None)
        if isinstance(container, list):
            container[key] = successor
        elif successor is None:
            container.pop(key)
        else:
            container[key] = successor
        return step
    return None


def link(slot_owner: dict | list, key: Any, step: dict) -> None:
    following = slot_owner[key] if isinstance(slot_owner, list) else slot_owner.get(key)
    step.pop("nextAction", None)
    if following is not None:
        step["nextAction"] = following
    slot_owner[key] = step


def insert(root: dict, parent_name: Any, location: Any, branch_index: Any, step: dict) -> None:
    parent = get(root, parent_name)
    kind = parent.get("type")
    if location is not None and location not in ("AFTER", "INSIDE_LOOP", "INSIDE_BRANCH"):
        raise schema_error()
    if kind == "LOOP_ON_ITEMS" and location not in ("AFTER", "INSIDE_LOOP"):
        raise invalid(f"a step added to loop '{parent_name}' needs AFTER or INSIDE_LOOP")
    if kind in ROUTER_TYPES and location not in ("AFTER", "INSIDE_BRANCH"):
        raise invalid(f"a step added to router '{parent_name}' needs AFTER or INSIDE_BRANCH")
    if location == "INSIDE_LOOP" and kind != "LOOP_ON_ITEMS":
        raise invalid(f"'{parent_name}' is not a loop")
    if location == "INSIDE_BRANCH":
        if kind not in ROUTER_TYPES:
            raise invalid(f"'{parent_name}' is not a router")
        children = aligned_children(parent)
        if not isinstance(branch_index, int) or not 0 <= branch_index < len(children):
            raise invalid(f"router '{parent_name}' has no branch {branch_index!r}")
        link(children, branch_index, step)
    elif location == "INSIDE_LOOP":
        link(parent, "firstLoopAction", step)
    else:
        link(parent, "nextAction", step)


def aligned_children(router: dict) -> list:
    branches = (router.get("settings") or {}).get("branches") or []
    children = list(router.get("children") or [])
    children = (children + [None] * len(branches))[: len(branches)]
    router["children"] = children
    return children


def fresh_names(root: dict, subtree: dict) -> None:
    """Rename `subtree` and its sub-steps to unused `step_N` names."""
    used = {s.get("name") for s in iter_steps(root)}
    number = 1
    for step in iter_steps(subtree):
        while f"step_{number}" in used:
            number += 1
        step["name"] = f"step_{number}"
        used.add(step["name"])


def clean_action(action: Any) -> dict:
    if not isinstance(action, dict) or not isinstance(action.get("name"), str) \
            or action.get("type") not in ACTION_TYPES or not isinstance(action.get("settings"), dict):
        raise schema_error()
    if not isinstance(action.get("displayName", ""), str):
        raise schema_error()
    step = {k: copy.deepcopy(v) for k, v in action.items() if k not in STRUCTURE}
    if step["type"] in ROUTER_TYPES:
        step["children"] = [None] * len(step["settings"].get("branches") or [])
    return step


# -- operations --------------------------------------------------------------------------------
