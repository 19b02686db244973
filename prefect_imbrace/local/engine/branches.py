"""Router branch operations: ADD_BRANCH, DELETE_BRANCH, DUPLICATE_BRANCH, MOVE_BRANCH."""

from __future__ import annotations

import copy

from .tree_nav import (
    ROUTER_TYPES,
    aligned_children,
    fresh_names,
    get,
    invalid,
    require,
    schema_error,
)


def _router(root: dict, request: dict) -> tuple[dict, list, list]:
    name = require(request, "stepName", str)
    router = get(root, name)
    if router.get("type") not in ROUTER_TYPES:
        raise invalid(f"'{name}' is not a router")
    branches = router.setdefault("settings", {}).setdefault("branches", [])
    return router, branches, aligned_children(router)


def _index(request: dict, key: str, size: int) -> int:
    index = require(request, key, int)
    if not 0 <= index < size:
        raise invalid(f"{key} {index} is out of range (0..{size - 1})")
    return index


_DEFAULT_CONDITIONS = [[{"operator": "TEXT_EXACTLY_MATCHES", "firstValue": "", "secondValue": "",
                         "caseSensitive": False}]]


def add_branch(root: dict, request: dict) -> dict:
    router, branches, children = _router(root, request)
    index = _index(request, "branchIndex", len(branches) + 1)
    conditions = request.get("conditions")
    if conditions is not None and not isinstance(conditions, list):
        raise schema_error()
    branches.insert(index, {"conditions": copy.deepcopy(conditions or _DEFAULT_CONDITIONS),
                            "branchType": "CONDITION",
                            "branchName": require(request, "branchName", str)})
    children.insert(index, None)
    return root


def delete_branch(root: dict, request: dict) -> dict:
    router, branches, children = _router(root, request)
    index = _index(request, "branchIndex", len(branches))
    del branches[index]
    del children[index]
    return root


def duplicate_branch(root: dict, request: dict) -> dict:
    router, branches, children = _router(root, request)
    index = _index(request, "branchIndex", len(branches))
    if branches[index].get("branchType") == "FALLBACK":
        raise invalid("the fallback branch cannot be duplicated")
    branch = copy.deepcopy(branches[index])
    branch["branchName"] = f"{branch.get('branchName', '')} Copy"
    child = copy.deepcopy(children[index])
    if child is not None:
        fresh_names(root, child)
    branches.insert(index + 1, branch)
    children.insert(index + 1, child)
    return root


def move_branch(root: dict, request: dict) -> dict:
    router, branches, children = _router(root, request)
    source = _index(request, "sourceBranchIndex", len(branches))
    target = _index(request, "targetBranchIndex", len(branches))
    if "FALLBACK" in (branches[source].get("branchType"), branches[target].get("branchType")):
        raise invalid("the fallback branch cannot be moved")
    branches.insert(target, branches.pop(source))
    children.insert(target, children.pop(source))
    return root
