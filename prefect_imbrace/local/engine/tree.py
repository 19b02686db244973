"""Flow operations that edit a version's step tree (imbrace-api.md §5.5), as pure functions.

`apply_tree_operation` works on a deep copy and returns the new trigger with `valid`
recomputed on every step. Version-level operations (publish, status, folder, name, metadata,
USE_AS_DRAFT) belong to the server, not here.
"""

from __future__ import annotations

import copy
import secrets
import string
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from typing import Any

from ..errors import EngineError, RequestValidationError
from .validity import iter_steps, refresh_validity

ACTION_TYPES = ("PIECE", "CODE", "LOOP_ON_ITEMS", "ROUTER", "MULTIPLE_CHOICE")
ROUTER_TYPES = ("ROUTER", "MULTIPLE_CHOICE")
_STRUCTURE = ("nextAction", "firstLoopAction", "children")
_ID_CHARS = string.ascii_letters + string.digits


def _schema_error() -> RequestValidationError:
    return RequestValidationError("body must match a schema in anyOf")


def _invalid(message: str) -> EngineError:
    return EngineError("FLOW_OPERATION_INVALID", {"message": message})


def _not_found(name: Any) -> EngineError:
    return EngineError("STEP_NOT_FOUND", {"stepName": name})


def _require(request: dict, key: str, kind: type | tuple[type, ...]) -> Any:
    value = request.get(key)
    if not isinstance(value, kind) or isinstance(value, bool) and kind is int:
        raise _schema_error()
    return value


def _names(request: dict) -> list[str]:
    names = _require(request, "names", list)
    if not all(isinstance(n, str) for n in names):
        raise _schema_error()
    return names


def _find(root: dict, name: Any) -> dict | None:
    return next((s for s in iter_steps(root) if s.get("name") == name), None)


def _get(root: dict, name: Any) -> dict:
    step = _find(root, name)
    if step is None:
        raise _not_found(name)
    return step


def _slots(root: dict) -> Iterator[tuple[Any, Any]]:
    """(container, key) for every place a step hangs: nextAction, firstLoopAction, children[i]."""
    for step in iter_steps(root):
        for key in ("nextAction", "firstLoopAction"):
            if step.get(key) is not None:
                yield step, key
        children = step.get("children") or []
        for index, child in enumerate(children):
            if child is not None:
                yield children, index


def _unlink(root: dict, name: str) -> dict | None:
    """Detach a step (with its sub-steps); its successor takes its place."""
    for container, key in _slots(root):
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


def _link(slot_owner: dict | list, key: Any, step: dict) -> None:
    following = slot_owner[key] if isinstance(slot_owner, list) else slot_owner.get(key)
    step.pop("nextAction", None)
    if following is not None:
        step["nextAction"] = following
    slot_owner[key] = step


def _insert(root: dict, parent_name: Any, location: Any, branch_index: Any, step: dict) -> None:
    parent = _get(root, parent_name)
    kind = parent.get("type")
    if location is not None and location not in ("AFTER", "INSIDE_LOOP", "INSIDE_BRANCH"):
        raise _schema_error()
    if kind == "LOOP_ON_ITEMS" and location not in ("AFTER", "INSIDE_LOOP"):
        raise _invalid(f"a step added to loop '{parent_name}' needs AFTER or INSIDE_LOOP")
    if kind in ROUTER_TYPES and location not in ("AFTER", "INSIDE_BRANCH"):
        raise _invalid(f"a step added to router '{parent_name}' needs AFTER or INSIDE_BRANCH")
    if location == "INSIDE_LOOP" and kind != "LOOP_ON_ITEMS":
        raise _invalid(f"'{parent_name}' is not a loop")
    if location == "INSIDE_BRANCH":
        if kind not in ROUTER_TYPES:
            raise _invalid(f"'{parent_name}' is not a router")
        children = _aligned_children(parent)
        if not isinstance(branch_index, int) or not 0 <= branch_index < len(children):
            raise _invalid(f"router '{parent_name}' has no branch {branch_index!r}")
        _link(children, branch_index, step)
    elif location == "INSIDE_LOOP":
        _link(parent, "firstLoopAction", step)
    else:
        _link(parent, "nextAction", step)


def _aligned_children(router: dict) -> list:
    branches = (router.get("settings") or {}).get("branches") or []
    children = list(router.get("children") or [])
    children = (children + [None] * len(branches))[: len(branches)]
    router["children"] = children
    return children


def _fresh_names(root: dict, subtree: dict) -> None:
    """Rename `subtree` and its sub-steps to unused `step_N` names."""
    used = {s.get("name") for s in iter_steps(root)}
    number = 1
    for step in iter_steps(subtree):
        while f"step_{number}" in used:
            number += 1
        step["name"] = f"step_{number}"
        used.add(step["name"])


def _clean_action(action: Any) -> dict:
    if not isinstance(action, dict) or not isinstance(action.get("name"), str) \
            or action.get("type") not in ACTION_TYPES or not isinstance(action.get("settings"), dict):
        raise _schema_error()
    if not isinstance(action.get("displayName", ""), str):
        raise _schema_error()
    step = {k: copy.deepcopy(v) for k, v in action.items() if k not in _STRUCTURE}
    if step["type"] in ROUTER_TYPES:
        step["children"] = [None] * len(step["settings"].get("branches") or [])
    return step


# -- operations --------------------------------------------------------------------------------
def _import_flow(root: dict, request: dict) -> dict:
    _require(request, "displayName", str)
    trigger = copy.deepcopy(_require(request, "trigger", dict))
    if trigger.get("type") not in ("EMPTY", "PIECE_TRIGGER"):
        raise _schema_error()
    for step in iter_steps(trigger):
        sample = (step.get("settings") or {}).get("sampleData")
        if isinstance(sample, dict):
            sample.pop("sampleDataFileId", None)
            sample.pop("sampleDataInputFileId", None)
    return trigger


def _update_trigger(root: dict, request: dict) -> dict:
    if request.get("type") not in ("EMPTY", "PIECE_TRIGGER") or not isinstance(
            request.get("settings"), dict) or not isinstance(request.get("displayName", ""), str):
        raise _schema_error()
    trigger = {k: copy.deepcopy(v) for k, v in request.items() if k not in _STRUCTURE}
    trigger["name"] = "trigger"
    if root.get("nextAction") is not None:
        trigger["nextAction"] = root["nextAction"]
    return trigger


def _add_action(root: dict, request: dict) -> dict:
    parent = _require(request, "parentStep", str)
    step = _clean_action(request.get("action"))
    if _find(root, step["name"]) is not None:
        raise _invalid(f"a step named '{step['name']}' already exists")
    _insert(root, parent, request.get("stepLocationRelativeToParent") or (
        None if _get(root, parent).get("type") in ("LOOP_ON_ITEMS", *ROUTER_TYPES) else "AFTER"),
        request.get("branchIndex"), step)
    return root


def _update_action(root: dict, request: dict) -> dict:
    new = _clean_action(request)
    step = _get(root, new["name"])
    if step is root:
        raise _invalid("use UPDATE_TRIGGER to change the trigger")
    for key in [k for k in step if k not in _STRUCTURE]:
        del step[key]
    step.update({k: v for k, v in new.items() if k != "children"})
    if step["type"] != "LOOP_ON_ITEMS":
        step.pop("firstLoopAction", None)
    if step["type"] in ROUTER_TYPES:
        _aligned_children(step)
    else:
        step.pop("children", None)
    return root


def _delete_action(root: dict, request: dict) -> dict:
    for name in _names(request):
        if name != root.get("name"):
            _unlink(root, name)
    return root


def _duplicate_action(root: dict, request: dict) -> dict:
    name = _require(request, "stepName", str)
    original = _get(root, name)
    if original is root:
        raise _invalid("the trigger cannot be duplicated")
    clone = copy.deepcopy({k: v for k, v in original.items() if k != "nextAction"})
    _fresh_names(root, clone)
    _link(original, "nextAction", clone)
    return root


def _move_action(root: dict, request: dict) -> dict:
    name = _require(request, "name", str)
    target = _require(request, "newParentStep", str)
    step = _get(root, name)
    if step is root:
        raise _invalid("the trigger cannot be moved")
    _get(root, target)
    inside = {s.get("name") for s in iter_steps({k: v for k, v in step.items() if k != "nextAction"})}
    if target in inside:
        raise _invalid(f"cannot move '{name}' inside itself")
    _unlink(root, name)
    location = request.get("stepLocationRelativeToNewParent")
    if location is None and _get(root, target).get("type") not in ("LOOP_ON_ITEMS", *ROUTER_TYPES):
        location = "AFTER"
    _insert(root, target, location, request.get("branchIndex"), step)
    return root


def _set_skip(root: dict, request: dict) -> dict:
    skip = _require(request, "skip", bool)
    for name in _names(request):
        step = _find(root, name)
        if step is not None and step is not root:
            step["skip"] = skip
    return root


def _router(root: dict, request: dict) -> tuple[dict, list, list]:
    name = _require(request, "stepName", str)
    router = _get(root, name)
    if router.get("type") not in ROUTER_TYPES:
        raise _invalid(f"'{name}' is not a router")
    branches = router.setdefault("settings", {}).setdefault("branches", [])
    return router, branches, _aligned_children(router)


def _index(request: dict, key: str, size: int) -> int:
    index = _require(request, key, int)
    if not 0 <= index < size:
        raise _invalid(f"{key} {index} is out of range (0..{size - 1})")
    return index


_DEFAULT_CONDITIONS = [[{"operator": "TEXT_EXACTLY_MATCHES", "firstValue": "", "secondValue": "",
                         "caseSensitive": False}]]


def _add_branch(root: dict, request: dict) -> dict:
    router, branches, children = _router(root, request)
    index = _index(request, "branchIndex", len(branches) + 1)
    conditions = request.get("conditions")
    if conditions is not None and not isinstance(conditions, list):
        raise _schema_error()
    branches.insert(index, {"conditions": copy.deepcopy(conditions or _DEFAULT_CONDITIONS),
                            "branchType": "CONDITION",
                            "branchName": _require(request, "branchName", str)})
    children.insert(index, None)
    return root


def _delete_branch(root: dict, request: dict) -> dict:
    router, branches, children = _router(root, request)
    index = _index(request, "branchIndex", len(branches))
    del branches[index]
    del children[index]
    return root


def _duplicate_branch(root: dict, request: dict) -> dict:
    router, branches, children = _router(root, request)
    index = _index(request, "branchIndex", len(branches))
    if branches[index].get("branchType") == "FALLBACK":
        raise _invalid("the fallback branch cannot be duplicated")
    branch = copy.deepcopy(branches[index])
    branch["branchName"] = f"{branch.get('branchName', '')} Copy"
    child = copy.deepcopy(children[index])
    if child is not None:
        _fresh_names(root, child)
    branches.insert(index + 1, branch)
    children.insert(index + 1, child)
    return root


def _move_branch(root: dict, request: dict) -> dict:
    router, branches, children = _router(root, request)
    source = _index(request, "sourceBranchIndex", len(branches))
    target = _index(request, "targetBranchIndex", len(branches))
    if "FALLBACK" in (branches[source].get("branchType"), branches[target].get("branchType")):
        raise _invalid("the fallback branch cannot be moved")
    branches.insert(target, branches.pop(source))
    children.insert(target, children.pop(source))
    return root


def _save_sample_data(root: dict, request: dict) -> dict:
    step = _get(root, _require(request, "stepName", str))
    if request.get("type") not in ("INPUT", "OUTPUT") or "payload" not in request:
        raise _schema_error()
    if request.get("dataType", "JSON") not in ("JSON", "STRING"):
        raise _schema_error()
    sample = step.setdefault("settings", {}).setdefault("sampleData", {})
    key = "sampleDataInputFileId" if request["type"] == "INPUT" else "sampleDataFileId"
    sample[key] = "".join(secrets.choice(_ID_CHARS) for _ in range(21))
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
    "ADD_BRANCH": _add_branch,
    "DELETE_BRANCH": _delete_branch,
    "DUPLICATE_BRANCH": _duplicate_branch,
    "MOVE_BRANCH": _move_branch,
    "SAVE_SAMPLE_DATA": _save_sample_data,
}


def apply_tree_operation(trigger: dict, op_type: str, request: dict) -> dict:
    """The trigger tree after one operation (the input is not modified)."""
    operation = OPERATIONS.get(op_type)
    if operation is None or not isinstance(request, dict):
        raise _schema_error()
    return refresh_validity(operation(copy.deepcopy(trigger), request))
