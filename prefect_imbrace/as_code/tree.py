"""Step trees in one canonical form, so a file and an engine flow compare with `==`.

The canonical form is the file's list form in the engine's own shape: a trigger without links
and `steps` as a list, a loop body as `loopSteps`, router branches as `branchSteps`. What the
engine adds or rewrites by itself is left out of it (`valid`, sample data, empty property
settings, all-false error handling, the `~`/`^` of a piece version range that publishing pins),
so applying a file and reading the flow back gives the same canonical form.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from typing import Any

from prefect_imbrace.client import operations as ops

from .models import BuilderStep, BuilderTrigger, EngineStep, EngineTrigger, FlowSpec, Step

LINKS = ("nextAction", "firstLoopAction", "children", "loopSteps", "branchSteps")
ROUTERS = ("ROUTER", "MULTIPLE_CHOICE")
JS_GLOBALS = frozenset(
    "JSON Math Date Number String Object Array Boolean parseInt parseFloat encodeURIComponent "
    "decodeURIComponent true false null undefined".split()
)
_TEMPLATE = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)
_ROOT = re.compile(r"\s*([A-Za-z_$][\w$]*)")


def normalize_settings(settings: dict[str, Any] | None) -> dict[str, Any]:
    """Settings without what the engine fills in or rewrites on its own."""
    data = copy.deepcopy(settings or {})
    for key in ("sampleData", "inputUiInfo"):
        data.pop(key, None)
    if not data.get("propertySettings"):
        data.pop("propertySettings", None)
    if data.get("customLogoUrl") is None:
        data.pop("customLogoUrl", None)
    if isinstance(data.get("pieceVersion"), str):
        data["pieceVersion"] = data["pieceVersion"].lstrip("~^")
    handling = data.get("errorHandlingOptions")
    if handling is None or (
        isinstance(handling, dict)
        and not any(isinstance(v, dict) and v.get("value") for v in handling.values())
    ):
        data.pop("errorHandlingOptions", None)
    if isinstance(data.get("branches"), list):
        data["branches"] = [
            {k: v for k, v in branch.items() if v is not None} if isinstance(branch, dict) else branch
            for branch in data["branches"]
        ]
    return data


def normalize_step(step: dict[str, Any]) -> dict[str, Any]:
    """One step (trigger or action) in canonical form, links excluded."""
    out: dict[str, Any] = {"name": step["name"], "type": step["type"]}
    if step.get("displayName") is not None:
        out["displayName"] = step["displayName"]
    if step.get("skip"):
        out["skip"] = True
    out["settings"] = normalize_settings(step.get("settings"))
    return out


def chain_to_list(node: dict[str, Any] | None) -> list[dict[str, Any]]:
    """An engine chain (`nextAction` links, nested loops and branches) as a canonical list."""
    out: list[dict[str, Any]] = []
    while node:
        step = normalize_step(node)
        if node["type"] == "LOOP_ON_ITEMS":
            step["loopSteps"] = chain_to_list(node.get("firstLoopAction"))
        elif node["type"] in ROUTERS:
            branches = (node.get("settings") or {}).get("branches") or []
            children = list(node.get("children") or [])
            children += [None] * (len(branches) - len(children))
            step["branchSteps"] = [chain_to_list(child) for child in children]
        out.append(step)
        node = node.get("nextAction")
    return out


def list_to_chain(steps: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The canonical list back as the engine's linked chain (for `IMPORT_FLOW`)."""
    head: dict[str, Any] | None = None
    previous: dict[str, Any] | None = None
    for step in steps:
        node = {k: copy.deepcopy(v) for k, v in step.items() if k not in LINKS}
        node["valid"] = True
        if step.get("loopSteps") is not None:
            first = list_to_chain(step["loopSteps"])
            if first is not None:
                node["firstLoopAction"] = first
        if step.get("branchSteps") is not None:
            node["children"] = [list_to_chain(branch) for branch in step["branchSteps"]]
        if previous is None:
            head = node
        else:
            previous["nextAction"] = node
        previous = node
    return head


def engine_trigger_tree(trigger: dict[str, Any], steps: list[dict[str, Any]]) -> dict[str, Any]:
    """The full trigger tree `IMPORT_FLOW` takes."""
    node = {k: copy.deepcopy(v) for k, v in trigger.items() if k not in LINKS}
    node["valid"] = True
    chain = list_to_chain(steps)
    if chain is not None:
        node["nextAction"] = chain
    return node


# ------------------------------------------------------------------------------ from the file


def _builder_step(step: BuilderStep) -> dict[str, Any]:
    kind = step.kind
    built: Any
    extra: dict[str, Any] = {}
    if step.return_response is not None:
        rr = step.return_response
        built = ops.return_response(
            name=step.name, body=rr.body, status=rr.status, headers=rr.headers,
            respond=rr.respond, response_type=rr.response_type, display_name=rr.display_name,
        )
    elif step.http_request is not None:
        hr = step.http_request
        built = ops.http_request(
            name=step.name, method=hr.method, url=hr.url, headers=hr.headers,
            query_params=hr.query_params, json_body=hr.json_body, failsafe=hr.failsafe,
            timeout=hr.timeout, display_name=hr.display_name,
        )
    elif step.delay is not None:
        built = ops.delay(
            name=step.name, amount=step.delay.amount, unit=step.delay.unit,
            display_name=step.delay.display_name,
        )
    elif step.code is not None:
        built = ops.code(
            name=step.name, source=step.code.source, input=step.code.input,
            package_json=step.code.package_json, display_name=step.code.display_name,
        )
    elif step.piece_action is not None:
        pa = step.piece_action
        built = ops.piece_action(
            name=step.name, piece_name=pa.piece_name, piece_version=pa.piece_version,
            action_name=pa.action_name, input=pa.input, display_name=pa.display_name,
            continue_on_failure=pa.continue_on_failure, retry_on_failure=pa.retry_on_failure,
        )
    elif step.loop is not None:
        built = ops.loop(name=step.name, items=step.loop.items, display_name=step.loop.display_name)
        extra["loopSteps"] = steps_to_list(step.loop.steps)
    elif step.router is not None:
        branches = []
        for branch in step.router.branches:
            if branch.conditions is None:
                branches.append(ops.fallback_branch(name=branch.name))
                continue
            groups = [
                [
                    ops.condition(
                        first_value=c.first_value, operator=c.operator,
                        second_value=c.second_value, case_sensitive=c.case_sensitive,
                    )
                    for c in group
                ]
                for group in branch.conditions
            ]
            branches.append(ops.branch(branch.name, *groups))
        built = ops.router(
            name=step.name, branches=branches, execution_type=step.router.execution_type,
            display_name=step.router.display_name,
        )
        extra["branchSteps"] = [steps_to_list(b.steps) for b in step.router.branches]
    else:  # pragma: no cover - BuilderStep guarantees one builder key
        raise AssertionError(kind)
    wire = built.to_wire()
    wire["skip"] = step.skip
    return {**normalize_step(wire), **extra}


def _engine_step(step: EngineStep) -> list[dict[str, Any]]:
    raw = step.model_dump(exclude_none=True, exclude={"loopSteps", "branchSteps"})
    out = normalize_step(raw)
    if step.type == "LOOP_ON_ITEMS":
        out["loopSteps"] = (
            steps_to_list(step.loopSteps) if step.loopSteps is not None
            else chain_to_list(step.firstLoopAction)
        )
    elif step.type in ROUTERS:
        branches = out["settings"].get("branches") or []
        if step.branchSteps is not None:
            lists = [steps_to_list(b) for b in step.branchSteps]
        else:
            lists = [chain_to_list(c) for c in (step.children or [])]
        out["branchSteps"] = lists + [[] for _ in range(len(branches) - len(lists))]
    return [out, *chain_to_list(step.nextAction)]


def steps_to_list(steps: list[Step]) -> list[dict[str, Any]]:
    """File steps (either form) as the canonical list."""
    out: list[dict[str, Any]] = []
    for step in steps:
        if isinstance(step, BuilderStep):
            out.append(_builder_step(step))
        else:
            out.extend(_engine_step(step))
    return out


def flow_shape(flow: FlowSpec) -> dict[str, Any]:
    """What a flow file declares about the step tree, in canonical form."""
    trigger = flow.trigger
    if isinstance(trigger, BuilderTrigger):
        hook = trigger.catch_webhook
        wire = ops.catch_webhook(
            auth_type=hook.auth_type, auth_fields=hook.auth_fields, display_name=hook.display_name
        ).to_wire()
        steps: list[dict[str, Any]] = []
    else:
        assert isinstance(trigger, EngineTrigger)
        wire = trigger.model_dump(exclude_none=True)
        steps = chain_to_list(trigger.nextAction)
    return {"trigger": normalize_step(wire), "steps": steps + steps_to_list(flow.steps)}


def engine_shape(trigger: dict[str, Any] | None) -> dict[str, Any]:
    """The canonical form of an engine flow version's `trigger` tree."""
    trigger = trigger or {"name": "trigger", "type": "EMPTY", "settings": {}}
    return {"trigger": normalize_step(trigger), "steps": chain_to_list(trigger.get("nextAction"))}


# ------------------------------------------------------------------------------ inspection


def walk(steps: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Every step of a canonical list, nested ones included, depth first."""
    for step in steps:
        yield step
        yield from walk(step.get("loopSteps") or [])
        for branch in step.get("branchSteps") or []:
            yield from walk(branch)


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


_CONNECTION = re.compile(r"""connections\s*\[\s*['"]([^'"]+)['"]\s*\]""")


def connection_references(shape: dict[str, Any]) -> set[str]:
    """The external ids a flow's templates name (`{{connections['id']}}`)."""
    found: set[str] = set()
    for step in [shape["trigger"], *walk(shape["steps"])]:
        for text in _strings(step.get("settings")):
            for expr in _TEMPLATE.findall(text):
                found.update(_CONNECTION.findall(expr))
    return found


def missing_references(shape: dict[str, Any]) -> list[tuple[str, str, str]]:
    """`(step, template, missing name)` for each template naming a step the flow lacks."""
    names = {"trigger", "connections", *(s["name"] for s in walk(shape["steps"]))}
    found: list[tuple[str, str, str]] = []
    for step in [shape["trigger"], *walk(shape["steps"])]:
        for text in _strings(step.get("settings")):
            for expr in _TEMPLATE.findall(text):
                root = _ROOT.match(expr)
                if root and root.group(1) not in names and root.group(1) not in JS_GLOBALS:
                    found.append((step["name"], "{{" + expr + "}}", root.group(1)))
    return found
