"""Small builders for flow trees used by the engine tests (importable: pytest prepends this dir)."""

from __future__ import annotations

from typing import Any

WEBHOOK = "@activepieces/piece-webhook"


def webhook_trigger(next_action: dict | None = None, **inputs: Any) -> dict:
    trigger = {
        "name": "trigger", "type": "PIECE_TRIGGER", "valid": True, "displayName": "Catch Webhook",
        "settings": {"pieceName": WEBHOOK, "pieceVersion": "~0.1.25",
                     "triggerName": "catch_webhook", "input": {"authType": "none", **inputs},
                     "propertySettings": {}},
    }
    if next_action is not None:
        trigger["nextAction"] = next_action
    return trigger


def piece(name: str, piece_name: str, action: str, inputs: dict, **extra: Any) -> dict:
    settings: dict[str, Any] = {"pieceName": piece_name, "pieceVersion": "~0.1.0",
                                "actionName": action, "input": inputs, "propertySettings": {}}
    settings.update(extra.pop("settings", {}))
    return {"name": name, "type": "PIECE", "valid": True, "displayName": name.title(),
            "settings": settings, **extra}


def mapper(name: str, mapping: Any, **extra: Any) -> dict:
    return piece(name, "@activepieces/piece-data-mapper", "advanced_mapping",
                 {"mapping": mapping}, **extra)


def reply(name: str, body: Any, respond: str = "stop", status: int = 200, **extra: Any) -> dict:
    return piece(name, WEBHOOK, "return_response",
                 {"responseType": "json", "respond": respond,
                  "fields": {"status": status, "headers": {}, "body": body}}, **extra)


def code(name: str) -> dict:
    return {"name": name, "type": "CODE", "valid": True, "displayName": "Compute",
            "settings": {"sourceCode": {"code": "export const code = async () => 1",
                                        "packageJson": "{}"}, "input": {}}}


def loop(name: str, items: str, body: dict | None, **extra: Any) -> dict:
    step = {"name": name, "type": "LOOP_ON_ITEMS", "valid": True, "displayName": "Loop",
            "settings": {"items": items}, **extra}
    if body is not None:
        step["firstLoopAction"] = body
    return step


def condition(first: Any, operator: str, second: Any = None, case: bool = False) -> dict:
    return {"firstValue": first, "secondValue": second, "operator": operator,
            "caseSensitive": case}


def router(name: str, branches: list[dict], children: list, mode: str = "EXECUTE_FIRST_MATCH",
           **extra: Any) -> dict:
    return {"name": name, "type": "ROUTER", "valid": True, "displayName": "Router",
            "settings": {"executionType": mode, "branches": branches},
            "children": children, **extra}


def branch(name: str, *groups: list[dict]) -> dict:
    return {"branchName": name, "branchType": "CONDITION", "conditions": list(groups)}


def fallback(name: str = "Otherwise") -> dict:
    return {"branchName": name, "branchType": "FALLBACK"}


def chain(*steps: dict) -> dict:
    """Link steps with nextAction; returns the first."""
    for current, following in zip(steps, steps[1:], strict=False):
        current["nextAction"] = following
    return steps[0]
