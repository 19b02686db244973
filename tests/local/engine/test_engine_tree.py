import copy

import pytest
from engine_builders import (
    branch,
    chain,
    code,
    condition,
    fallback,
    loop,
    mapper,
    router,
    webhook_trigger,
)

from prefect_imbrace.local.engine import apply_tree_operation, version_is_valid
from prefect_imbrace.local.engine.validity import iter_steps
from prefect_imbrace.local.errors import EngineError, RequestValidationError

EMPTY = {"name": "trigger", "type": "EMPTY", "valid": False, "displayName": "Select Trigger",
         "settings": {}}


def names(trigger):
    return [s["name"] for s in iter_steps(trigger)]


def chain_names(step):
    out = []
    while step:
        out.append(step["name"])
        step = step.get("nextAction")
    return out


def bare(step):
    return {k: v for k, v in step.items() if k not in ("nextAction", "firstLoopAction", "children")}


def add(trigger, parent, action, location=None, branch_index=None):
    request = {"parentStep": parent, "action": bare(action)}
    if location:
        request["stepLocationRelativeToParent"] = location
    if branch_index is not None:
        request["branchIndex"] = branch_index
    return apply_tree_operation(trigger, "ADD_ACTION", request)


def test_update_trigger_keeps_the_chain_and_recomputes_valid():
    tree = webhook_trigger(mapper("step_1", 1))
    request = {"name": "trigger", "type": "EMPTY", "valid": True, "displayName": "x",
               "settings": {}}
    updated = apply_tree_operation(tree, "UPDATE_TRIGGER", request)
    assert updated["valid"] is False and updated["nextAction"]["name"] == "step_1"
    assert tree["type"] == "PIECE_TRIGGER"  # input untouched


def test_add_action_after_inside_loop_and_inside_branch():
    tree = add(webhook_trigger(), "trigger", mapper("step_1", {"n": 1}))
    tree = add(tree, "trigger", loop("loop_1", "{{trigger.body}}", None))
    assert chain_names(tree) == ["trigger", "loop_1", "step_1"]
    tree = add(tree, "loop_1", mapper("step_2", [2]), "INSIDE_LOOP")
    assert tree["nextAction"]["firstLoopAction"]["name"] == "step_2"
    r = router("router_1", [branch("A", [condition("a", "EXISTS")]), fallback()], [])
    tree = add(tree, "step_1", r)
    routed = tree["nextAction"]["nextAction"]["nextAction"]
    assert routed["children"] == [None, None]
    tree = add(tree, "router_1", mapper("step_3", "three"), "INSIDE_BRANCH", 1)
    assert names(tree) == ["trigger", "loop_1", "step_2", "step_1", "router_1", "step_3"]
    assert version_is_valid(tree)


@pytest.mark.parametrize(
    ("parent", "location", "index"),
    [("loop_1", None, None), ("router_1", None, None), ("router_1", "INSIDE_BRANCH", 5),
     ("step_1", "INSIDE_LOOP", None), ("step_1", "INSIDE_BRANCH", 0)],
)
def test_add_action_location_rules(parent, location, index):
    tree = webhook_trigger(chain(
        mapper("step_1", 1), loop("loop_1", "{{x}}", None),
        router("router_1", [fallback()], [None])))
    with pytest.raises(EngineError) as info:
        add(tree, parent, mapper("step_9", 9), location, index)
    assert info.value.code == "FLOW_OPERATION_INVALID"


def test_add_action_errors():
    with pytest.raises(EngineError) as info:
        add(webhook_trigger(), "nope", mapper("step_1", 1))
    assert info.value.code == "STEP_NOT_FOUND"
    with pytest.raises(EngineError):
        add(webhook_trigger(mapper("step_1", 1)), "trigger", mapper("step_1", 1))
    with pytest.raises(RequestValidationError) as validation:
        apply_tree_operation(webhook_trigger(), "ADD_ACTION", {"parentStep": "trigger",
                                                              "action": {"name": "x"}})
    assert validation.value.body()["message"] == "body must match a schema in anyOf"


def test_update_action_keeps_links_and_changes_settings():
    tree = webhook_trigger(chain(mapper("step_1", 1), mapper("step_2", 2)))
    new = {**mapper("step_1", "changed"), "displayName": "Renamed"}
    updated = apply_tree_operation(tree, "UPDATE_ACTION", new)
    assert updated["nextAction"]["displayName"] == "Renamed"
    assert updated["nextAction"]["settings"]["input"]["mapping"] == "changed"
    assert chain_names(updated) == ["trigger", "step_1", "step_2"]
    with pytest.raises(EngineError):
        apply_tree_operation(tree, "UPDATE_ACTION", mapper("ghost", 1))


def test_update_action_of_a_router_realigns_children():
    r = router("router_1", [branch("A", [condition("a", "EXISTS")]), fallback()],
               [mapper("step_2", 2), None])
    tree = webhook_trigger(r)
    new = bare(r)
    new["settings"] = {**r["settings"], "branches": [fallback()]}
    updated = apply_tree_operation(tree, "UPDATE_ACTION", new)
    assert updated["nextAction"]["children"] == [updated["nextAction"]["children"][0]]
    assert updated["nextAction"]["children"][0]["name"] == "step_2"


def test_delete_action_successor_takes_its_place_and_unknown_is_ignored():
    body = chain(mapper("step_3", 3), mapper("step_4", 4))
    tree = webhook_trigger(chain(mapper("step_1", 1), loop("loop_1", "{{x}}", body),
                                 mapper("step_2", 2)))
    out = apply_tree_operation(tree, "DELETE_ACTION", {"names": ["step_1", "step_3", "nope",
                                                                  "trigger"]})
    assert chain_names(out) == ["trigger", "loop_1", "step_2"]
    assert out["nextAction"]["firstLoopAction"]["name"] == "step_4"
    out = apply_tree_operation(out, "DELETE_ACTION", {"names": ["loop_1"]})
    assert names(out) == ["trigger", "step_2"]


def test_duplicate_action_renames_sub_steps():
    tree = webhook_trigger(chain(loop("loop_1", "{{x}}", mapper("step_1", 1)),
                                 mapper("step_2", 2)))
    out = apply_tree_operation(tree, "DUPLICATE_ACTION", {"stepName": "loop_1"})
    assert chain_names(out) == ["trigger", "loop_1", "step_3", "step_2"]
    assert out["nextAction"]["nextAction"]["firstLoopAction"]["name"] == "step_4"
    assert len(set(names(out))) == len(names(out))
    with pytest.raises(EngineError) as info:
        apply_tree_operation(tree, "DUPLICATE_ACTION", {"stepName": "ghost"})
    assert info.value.code == "STEP_NOT_FOUND"


def test_move_action_into_a_branch_and_not_into_itself():
    r = router("router_1", [branch("A", [condition("a", "EXISTS")]), fallback()], [None, None])
    tree = webhook_trigger(chain(mapper("step_1", 1), r, loop("loop_1", "{{x}}",
                                                              mapper("step_2", 2))))
    out = apply_tree_operation(tree, "MOVE_ACTION", {
        "name": "step_1", "newParentStep": "router_1",
        "stepLocationRelativeToNewParent": "INSIDE_BRANCH", "branchIndex": 0})
    assert chain_names(out) == ["trigger", "router_1", "loop_1"]
    assert out["nextAction"]["children"][0]["name"] == "step_1"
    with pytest.raises(EngineError):
        apply_tree_operation(tree, "MOVE_ACTION", {
            "name": "loop_1", "newParentStep": "step_2", "stepLocationRelativeToNewParent": "AFTER"})


def test_set_skip():
    tree = webhook_trigger(chain(mapper("step_1", 1), mapper("step_2", 2)))
    out = apply_tree_operation(tree, "SET_SKIP_ACTION", {"names": ["step_2"], "skip": True})
    assert out["nextAction"]["nextAction"]["skip"] is True
    assert "skip" not in out["nextAction"]
    with pytest.raises(RequestValidationError):
        apply_tree_operation(tree, "SET_SKIP_ACTION", {"names": "step_2", "skip": True})


def _routed():
    return webhook_trigger(router(
        "router_1", [branch("A", [condition("a", "EXISTS")]), fallback()],
        [mapper("step_1", 1), None]))


def test_branch_operations():
    out = apply_tree_operation(_routed(), "ADD_BRANCH",
                               {"stepName": "router_1", "branchIndex": 1, "branchName": "B"})
    r = out["nextAction"]
    assert [b["branchName"] for b in r["settings"]["branches"]] == ["A", "B", "Otherwise"]
    assert r["settings"]["branches"][1]["conditions"][0][0]["operator"] == "TEXT_EXACTLY_MATCHES"
    assert r["children"][1] is None and len(r["children"]) == 3

    out = apply_tree_operation(out, "DUPLICATE_BRANCH", {"stepName": "router_1", "branchIndex": 0})
    r = out["nextAction"]
    assert [b["branchName"] for b in r["settings"]["branches"]] == ["A", "A Copy", "B", "Otherwise"]
    assert r["children"][1]["name"] == "step_2"

    out = apply_tree_operation(out, "MOVE_BRANCH", {"stepName": "router_1",
                                                    "sourceBranchIndex": 0, "targetBranchIndex": 2})
    r = out["nextAction"]
    assert [b["branchName"] for b in r["settings"]["branches"]] == ["A Copy", "B", "A", "Otherwise"]
    assert [c and c["name"] for c in r["children"]] == ["step_2", None, "step_1", None]

    out = apply_tree_operation(out, "DELETE_BRANCH", {"stepName": "router_1", "branchIndex": 2})
    assert "step_1" not in names(out)
    with pytest.raises(EngineError):
        apply_tree_operation(out, "DELETE_BRANCH", {"stepName": "router_1", "branchIndex": 9})
    with pytest.raises(EngineError):
        apply_tree_operation(out, "ADD_BRANCH", {"stepName": "trigger", "branchIndex": 0,
                                                 "branchName": "x"})


def test_import_flow_replaces_the_tree_and_clears_sample_files():
    imported = webhook_trigger(code("step_1"))
    imported["settings"]["sampleData"] = {"sampleDataFileId": "f" * 21, "lastTestDate": "d"}
    out = apply_tree_operation(EMPTY, "IMPORT_FLOW",
                               {"displayName": "x", "trigger": imported, "schemaVersion": "8"})
    assert out["settings"]["sampleData"] == {"lastTestDate": "d"}
    assert out["nextAction"]["valid"] is True  # CODE keeps the client's flag
    with pytest.raises(RequestValidationError):
        apply_tree_operation(EMPTY, "IMPORT_FLOW", {"trigger": imported})


def test_save_sample_data_records_a_file_id():
    out = apply_tree_operation(webhook_trigger(mapper("step_1", 1)), "SAVE_SAMPLE_DATA", {
        "stepName": "step_1", "payload": {"a": 1}, "type": "OUTPUT", "dataType": "JSON"})
    sample = out["nextAction"]["settings"]["sampleData"]
    assert len(sample["sampleDataFileId"]) == 21 and sample["lastTestDate"].endswith("Z")


@pytest.mark.parametrize("op", ["NOT_AN_OPERATION", "CHANGE_STATUS"])
def test_unknown_operations_are_schema_errors(op):
    with pytest.raises(RequestValidationError):
        apply_tree_operation(EMPTY, op, {})


def test_operations_do_not_mutate_their_input():
    tree = webhook_trigger(chain(mapper("step_1", 1), mapper("step_2", 2)))
    before = copy.deepcopy(tree)
    apply_tree_operation(tree, "DELETE_ACTION", {"names": ["step_1"]})
    assert tree == before
