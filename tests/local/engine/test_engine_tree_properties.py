"""Random sequences of tree operations keep the tree well formed."""

import copy

from engine_builders import branch, condition, fallback, loop, mapper, router, webhook_trigger
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from prefect_imbrace.local.engine import apply_tree_operation
from prefect_imbrace.local.engine.validity import iter_steps
from prefect_imbrace.local.errors import EngineError

KINDS = ["mapper", "loop", "router"]
LOCATIONS = [None, "AFTER", "INSIDE_LOOP", "INSIDE_BRANCH"]

operation = st.tuples(
    st.sampled_from(["ADD_ACTION", "DELETE_ACTION", "DUPLICATE_ACTION", "MOVE_ACTION",
                     "ADD_BRANCH", "DELETE_BRANCH", "DUPLICATE_BRANCH", "SET_SKIP_ACTION"]),
    st.integers(0, 30), st.integers(0, 30), st.sampled_from(KINDS), st.sampled_from(LOCATIONS),
    st.integers(0, 3),
)


def _new_step(kind, name):
    if kind == "loop":
        return loop(name, "{{trigger.body}}", None)
    if kind == "router":
        return {k: v for k, v in router(name, [branch("A", [condition("a", "EXISTS")]),
                                               fallback()], []).items() if k != "children"}
    return mapper(name, 1)


def _request(op, tree, a, b, kind, location, index, counter):
    steps = [s["name"] for s in iter_steps(tree)]
    first, second = steps[a % len(steps)], steps[b % len(steps)]
    if op == "ADD_ACTION":
        request = {"parentStep": first, "action": _new_step(kind, f"new_{counter}"),
                   "branchIndex": index}
        if location:
            request["stepLocationRelativeToParent"] = location
        return request
    if op in ("DELETE_ACTION", "SET_SKIP_ACTION"):
        return {"names": [first], "skip": True}
    if op == "DUPLICATE_ACTION":
        return {"stepName": first}
    if op == "MOVE_ACTION":
        request = {"name": first, "newParentStep": second, "branchIndex": index}
        if location:
            request["stepLocationRelativeToNewParent"] = location
        return request
    return {"stepName": first, "branchIndex": index, "branchName": "B"}


def _check(tree):
    names = [s["name"] for s in iter_steps(tree)]
    assert len(names) == len(set(names)), names
    assert names[0] == "trigger"
    for step in iter_steps(tree):
        assert isinstance(step["valid"], bool)
        if step["type"] == "ROUTER":
            assert len(step["children"]) == len(step["settings"]["branches"])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(operation, max_size=12))
def test_random_operations_keep_the_tree_well_formed(operations):
    tree = webhook_trigger()
    for counter, (op, a, b, kind, location, index) in enumerate(operations):
        request = _request(op, tree, a, b, kind, location, index, counter)
        before = copy.deepcopy(tree)
        try:
            tree = apply_tree_operation(tree, op, request)
        except EngineError as error:
            assert error.code in ("FLOW_OPERATION_INVALID", "STEP_NOT_FOUND")
            assert tree == before
        _check(tree)
