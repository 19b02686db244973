"""Flow operations that edit a version's step tree (imbrace-api.md §5.5), as pure functions.

`apply_tree_operation` works on a deep copy and returns the new trigger with `valid`
recomputed on every step. Version-level operations (publish, status, folder, name, metadata,
USE_AS_DRAFT) belong to the server, not here.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import datetime, timezone

from .branches import add_branch, delete_branch, duplicate_branch, move_branch
from .conditions import store_conditions
from .model import new_engine_id
from .tree_nav import (
    ROUTER_TYPES,
    STRUCTURE,
    aligned_children,
    clean_action,
    find,
    fresh_names,
    get,
    insert,
    invalid,
    link,
    requested_names,
    require,
    schema_error,
    unlink,
)
from .validity import iter_steps, refresh_validity


def _import_flow(root: dict, request: dict) -> dict:
    require(request, "displayName", str)
    trigger = copy.deepcopy(require(request, "trigger", dict))
    if trigger.get("type") not in ("EMPTY", "PIECE_TRIGGER"):
        raise schema_error()
    for step in iter_steps(trigger):
        sample = (step.get("settings") or {}).get("sampleData")
        if isinstance(sample, dict):
            sample.pop("sampleDataFileId", None)
            sample.pop("sampleDataInputFileId", None)
    return trigger


def _update_trigger(root: dict, request: dict) -> dict:
    if request.get("type") not in ("EMPTY", "PIECE_TRIGGER") or not isinstance(
            request.get("settings"), dict) or not isinstance(request.get("displayName", ""), str):
        raise schema_error()
    trigger = {k: copy.deepcopy(v) for k, v in request.items() if k not in STRUCTURE}
    trigger["name"] = "trigger"
    if root.get("nextAction") is not None:
        trigger["nextAction"] = root["nextAction"]
    return trigger


def _add_action(root: dict, request: dict) -> dict:
    parent = require(request, "parentStep", str)
    step = clean_action(request.get("action"))
    if find(root, step["name"]) is not None:
        raise invalid(f"a step named '{step['name']}' already exists")
    insert(root, parent, request.get("stepLocationRelativeToParent") or (
        None if get(root, parent).get("type") in ("LOOP_ON_ITEMS", *ROUTER_TYPES) else "AFTER"),
        request.get("branchIndex"), step)
    return root


def _update_action(root: dict, request: dict) -> dict:
    new = clean_action(request)
    step = get(root, new["name"])
    if step is root:
        raise invalid("use UPDATE_TRIGGER to change the trigger")
    for key in [k for k in step if k not in STRUCTURE]:
        del step[key]
    step.update({k: v for k, v in new.items() if k != "children"})
    if step["type"] != "LOOP_ON_ITEMS":
        step.pop("firstLoopAction", None)
    if step["type"] in ROUTER_TYPES:
        aligned_children(step)
    else:
        step.pop("children", None)
    return root


def _delete_action(root: dict, request: dict) -> dict:
    for name in requested_names(request):
        if name != root.get("name"):
            unlink(root, name)
    return root


def _duplicate_action(root: dict, request: dict) -> dict:
    name = require(request, "stepName", str)
    original = get(root, name)
    if original is root:
        raise invalid("the trigger cannot be duplicated")
    clone = copy.deepcopy({k: v for k, v in original.items() if k != "nextAction"})
    fresh_names(root, clone)
    link(original, "nextAction", clone)
    return root


def _move_action(root: dict, request: dict) -> dict:
    name = require(request, "name", str)
    target = require(request, "newParentStep", str)
    step = get(root, name)
    if step is root:
        raise invalid("the trigger cannot be moved")
    get(root, target)
    inside = {s.get("name") for s in iter_steps({k: v for k, v in step.items() if k != "nextAction"})}
    if target in inside:
        raise invalid(f"cannot move '{name}' inside itself")
    unlink(root, name)
    location = request.get("stepLocationRelativeToNewParent")
    if location is None and get(root, target).get("type") not in ("LOOP_ON_ITEMS", *ROUTER_TYPES):
        location = "AFTER"
    insert(root, target, location, request.get("branchIndex"), step)
    return root


def _set_skip(root: dict, request: dict) -> dict:
    skip = require(request, "skip", bool)
    for name in requested_names(request):
        step = find(root, name)
        if step is not None and step is not root:
            step["skip"] = skip
    return root


def _save_sample_data(root: dict, request: dict) -> dict:
    step = get(root, require(request, "stepName", str))
    if request.get("type") not in ("INPUT", "OUTPUT") or "payload" not in request:
        raise schema_error()
    if request.get("dataType", "JSON") not in ("JSON", "STRING"):
        raise schema_error()
    sample = step.setdefault("settings", {}).setdefault("sampleData", {})
    key = "sampleDataInputFileId" if request["type"] == "INPUT" else "sampleDataFileId"
    sample[key] = new_engine_id()
    sample["lastTestDate"] = datetime.now(timezone.utc).isoformat(
        timespec="milliseconds").replace("+00:00", "Z")
    return root


OPERATIONS: dict[str, Callable[[dict, dict], dict]] = {
    "IMPORT_FLOW": _import_flow,
    "UPDATE_TRIGGER": _update_trigger,
    "ADD_ACTION": _add_action,
    "UPDATE_ACTION": _update_action,
    "DELETE_ACTION": _delete_action,
    "DUPLICATE_ACTION": _duplicate_action,
    "MOVE_ACTION": _move_action,
    "SET_SKIP_ACTION": _set_skip,
    "ADD_BRANCH": add_branch,
    "DELETE_BRANCH": delete_branch,
    "DUPLICATE_BRANCH": duplicate_branch,
    "MOVE_BRANCH": move_branch,
    "SAVE_SAMPLE_DATA": _save_sample_data,
}


def apply_tree_operation(trigger: dict, op_type: str, request: dict) -> dict:
    """The trigger tree after one operation (the input is not modified)."""
    operation = OPERATIONS.get(op_type)
    if operation is None or not isinstance(request, dict):
        raise schema_error()
    tree = operation(copy.deepcopy(trigger), request)
    for step in iter_steps(tree):
        if step.get("type") in ROUTER_TYPES:
            store_conditions(step)
    return refresh_validity(tree)
