"""Builders for the 20 flow operations (`POST /v1/flows/{id}`) and for common steps.

A flow in a few lines::

    from prefect_imbrace.client import operations as ops

    flow = client.workflows.create_flow("Echo")
    client.workflows.apply_flow_operation(flow.id, ops.update_trigger(ops.catch_webhook()))
    client.workflows.apply_flow_operation(
        flow.id, ops.add_action("trigger", ops.return_response(body={"echo": "{{trigger.body}}"}))
    )
    client.workflows.apply_flow_operation(flow.id, ops.lock_and_publish())

Each builder returns a `FlowOperation` (`{"type", "request"}`); steps may be typed models or
plain camelCase dicts. Step builders pin the piece versions of the engine's 0.72.4 era.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Literal, Optional, Union

from pydantic import BaseModel

from ..exceptions import ImbraceConfigurationError
from .models._base import ImbraceModel
from .models.flows import (
    CodeAction,
    CodeActionSettings,
    LoopOnItemsAction,
    LoopOnItemsSettings,
    PieceAction,
    PieceActionSettings,
    PieceTrigger,
    PieceTriggerSettings,
    RouterAction,
    RouterBranch,
    RouterCondition,
    RouterSettings,
    SourceCode,
)

StepLike = Union[BaseModel, Mapping[str, Any]]

FLOW_OPERATION_TYPES = (
    "CHANGE_STATUS",
    "LOCK_AND_PUBLISH",
    "LOCK_FLOW",
    "USE_AS_DRAFT",
    "CHANGE_NAME",
    "CHANGE_FOLDER",
    "UPDATE_METADATA",
    "IMPORT_FLOW",
    "UPDATE_TRIGGER",
    "ADD_ACTION",
    "UPDATE_ACTION",
    "DELETE_ACTION",
    "DUPLICATE_ACTION",
    "MOVE_ACTION",
    "SET_SKIP_ACTION",
    "ADD_BRANCH",
    "DELETE_BRANCH",
    "DUPLICATE_BRANCH",
    "MOVE_BRANCH",
    "SAVE_SAMPLE_DATA",
)

WEBHOOK_PIECE = "@activepieces/piece-webhook"
WEBHOOK_PIECE_VERSION = "~0.1.25"
DELAY_PIECE = "@activepieces/piece-delay"
DELAY_PIECE_VERSION = "~0.3.21"
HTTP_PIECE = "@activepieces/piece-http"
HTTP_PIECE_VERSION = "~0.9.5"


class FlowOperation(ImbraceModel):
    """The body of `apply_flow_operation`: `{"type": <operation>, "request": {...}}`."""

    type: str
    request: dict[str, Any]

    def to_wire(self) -> dict[str, Any]:
        # Not exclude_none: CHANGE_FOLDER needs an explicit `folderId: null`.
        return {"type": self.type, "request": self.request}


def _step(step: StepLike, *, strip_links: bool) -> dict[str, Any]:
    if isinstance(step, BaseModel):
        data = step.model_dump(by_alias=True, exclude_none=True, mode="json")
    elif isinstance(step, Mapping):
        data = dict(step)
    else:
        raise ImbraceConfigurationError(
            f"A step must be a step model (e.g. ops.return_response(...)) or a camelCase dict, "
            f"not {type(step).__name__}."
        )
    if strip_links:
        data.pop("nextAction", None)
        if not data.get("children"):
            data.pop("children", None)
        if data.get("firstLoopAction") is None:
            data.pop("firstLoopAction", None)
    return data


def _op(kind: str, request: Mapping[str, Any]) -> FlowOperation:
    return FlowOperation(type=kind, request=dict(request))


def _names(names: str | Iterable[str]) -> list[str]:
    return [names] if isinstance(names, str) else list(names)


# ------------------------------------------------------------------------------ operations


def change_status(status: Literal["ENABLED", "DISABLED"]) -> FlowOperation:
    """Enable or disable the published version's trigger."""
    if status not in ("ENABLED", "DISABLED"):
        raise ImbraceConfigurationError(f"status must be 'ENABLED' or 'DISABLED' (got {status!r}).")
    return _op("CHANGE_STATUS", {"status": status})


def lock_and_publish(status: Optional[Literal["ENABLED", "DISABLED"]] = None) -> FlowOperation:
    """Lock the latest version, publish it and set the status (engine default: ENABLED)."""
    return _op("LOCK_AND_PUBLISH", {} if status is None else {"status": status})


def lock_flow() -> FlowOperation:
    """Lock the latest version without publishing it."""
    return _op("LOCK_FLOW", {})


def use_as_draft(version_id: str) -> FlowOperation:
    """Copy an older version into the draft."""
    return _op("USE_AS_DRAFT", {"versionId": version_id})


def change_name(display_name: str) -> FlowOperation:
    return _op("CHANGE_NAME", {"displayName": display_name})


def change_folder(folder_id: Optional[str]) -> FlowOperation:
    """Move the flow into a folder; None = uncategorised."""
    return _op("CHANGE_FOLDER", {"folderId": folder_id})


def update_metadata(metadata: Optional[Mapping[str, Any]]) -> FlowOperation:
    """Replace `flow.metadata` (the fork filters flows on `metadata.tags[].name`)."""
    return _op("UPDATE_METADATA", {"metadata": dict(metadata) if metadata is not None else None})


def import_flow(
    display_name: str, trigger: StepLike, schema_version: Optional[str] = "8"
) -> FlowOperation:
    """Replace the draft's whole step tree (`trigger` with its `nextAction` chain)."""
    return _op(
        "IMPORT_FLOW",
        {
            "displayName": display_name,
            "trigger": _step(trigger, strip_links=False),
            "schemaVersion": schema_version,
        },
    )


def update_trigger(trigger: StepLike) -> FlowOperation:
    """Replace the trigger (its action chain is kept)."""
    return _op("UPDATE_TRIGGER", _step(trigger, strip_links=True))


def add_action(
    parent_step: str,
    action: StepLike,
    *,
    location: Optional[Literal["AFTER", "INSIDE_LOOP", "INSIDE_BRANCH"]] = None,
    branch_index: Optional[int] = None,
) -> FlowOperation:
    """Insert `action` after `parent_step`, or inside a loop / router branch."""
    request: dict[str, Any] = {"parentStep": parent_step, "action": _step(action, strip_links=True)}
    if location is None and branch_index is not None:
        location = "INSIDE_BRANCH"
    if location is not None:
        request["stepLocationRelativeToParent"] = location
    if branch_index is not None:
        request["branchIndex"] = branch_index
    return _op("ADD_ACTION", request)


def update_action(action: StepLike) -> FlowOperation:
    """Replace the settings of the step with the same `name` (its links are kept)."""
    return _op("UPDATE_ACTION", _step(action, strip_links=True))


def delete_action(names: str | Iterable[str]) -> FlowOperation:
    return _op("DELETE_ACTION", {"names": _names(names)})


def duplicate_action(step_name: str) -> FlowOperation:
    return _op("DUPLICATE_ACTION", {"stepName": step_name})


def move_action(
    name: str,
    new_parent_step: str,
    *,
    location: Optional[Literal["AFTER", "INSIDE_LOOP", "INSIDE_BRANCH"]] = None,
    branch_index: Optional[int] = None,
) -> FlowOperation:
    request: dict[str, Any] = {"name": name, "newParentStep": new_parent_step}
    if location is not None:
        request["stepLocationRelativeToNewParent"] = location
    if branch_index is not None:
        request["branchIndex"] = branch_index
    return _op("MOVE_ACTION", request)


def set_skip_action(names: str | Iterable[str], skip: bool = True) -> FlowOperation:
    return _op("SET_SKIP_ACTION", {"names": _names(names), "skip": skip})


def add_branch(
    step_name: str,
    branch_index: int,
    branch_name: str,
    conditions: Optional[list[list[RouterCondition | Mapping[str, Any]]]] = None,
) -> FlowOperation:
    request: dict[str, Any] = {
        "stepName": step_name,
        "branchIndex": branch_index,
        "branchName": branch_name,
    }
    if conditions is not None:
        request["conditions"] = [[_condition(c) for c in group] for group in conditions]
    return _op("ADD_BRANCH", request)


def delete_branch(step_name: str, branch_index: int) -> FlowOperation:
    return _op("DELETE_BRANCH", {"stepName": step_name, "branchIndex": branch_index})


def duplicate_branch(step_name: str, branch_index: int) -> FlowOperation:
    return _op("DUPLICATE_BRANCH", {"stepName": step_name, "branchIndex": branch_index})


def move_branch(
    step_name: str, source_branch_index: int, target_branch_index: int
) -> FlowOperation:
    return _op(
        "MOVE_BRANCH",
        {
            "stepName": step_name,
            "sourceBranchIndex": source_branch_index,
            "targetBranchIndex": target_branch_index,
        },
    )


def save_sample_data(
    step_name: str,
    payload: Any,
    *,
    type: Literal["INPUT", "OUTPUT"] = "OUTPUT",
    data_type: Literal["JSON", "STRING"] = "JSON",
) -> FlowOperation:
    return _op(
        "SAVE_SAMPLE_DATA",
        {"stepName": step_name, "payload": payload, "type": type, "dataType": data_type},
    )


def as_operation(body: FlowOperation | Mapping[str, Any]) -> dict[str, Any]:
    """The wire body of an operation given as a builder result or a plain `{"type", "request"}` dict."""
    if isinstance(body, FlowOperation):
        return body.to_wire()
    if isinstance(body, Mapping) and isinstance(body.get("type"), str) and "request" in body:
        return dict(body)
    raise ImbraceConfigurationError(
        "A flow operation must be built with prefect_imbrace.client.operations (e.g. "
        "ops.lock_and_publish()) or be a dict {'type': 'LOCK_AND_PUBLISH', 'request': {...}}."
    )


# ------------------------------------------------------------------------------ steps


def _condition(condition: RouterCondition | Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(condition, BaseModel):
        return condition.model_dump(by_alias=True, exclude_none=True, mode="json")
    return dict(condition)


def catch_webhook(
    *,
    auth_type: Literal["none", "basic", "header"] = "none",
    auth_fields: Optional[Mapping[str, Any]] = None,
    display_name: str = "Catch Webhook",
    piece_version: str = WEBHOOK_PIECE_VERSION,
) -> PieceTrigger:
    """The inbound-webhook trigger (`catch_webhook` of the webhook piece)."""
    inputs: dict[str, Any] = {"authType": auth_type}
    if auth_fields:
        inputs["authFields"] = dict(auth_fields)
    return PieceTrigger(
        name="trigger",
        valid=True,
        display_name=display_name,
        settings=PieceTriggerSettings(
            piece_name=WEBHOOK_PIECE,
            piece_version=piece_version,
            trigger_name="catch_webhook",
            input=inputs,
        ),
    )


def _error_handling(continue_on_failure: bool, retry_on_failure: bool) -> dict[str, Any]:
    return {
        "continueOnFailure": {"value": continue_on_failure},
        "retryOnFailure": {"value": retry_on_failure},
    }


def piece_action(
    name: str,
    piece_name: str,
    piece_version: str,
    action_name: str,
    input: Optional[Mapping[str, Any]] = None,
    *,
    display_name: Optional[str] = None,
    continue_on_failure: bool = False,
    retry_on_failure: bool = False,
) -> PieceAction:
    """Any piece action."""
    return PieceAction(
        name=name,
        valid=True,
        display_name=display_name or action_name,
        settings=PieceActionSettings(
            piece_name=piece_name,
            piece_version=piece_version,
            action_name=action_name,
            input=dict(input or {}),
            error_handling_options=_error_handling(continue_on_failure, retry_on_failure),
        ),
    )


def return_response(
    name: str = "step_1",
    *,
    body: Any = None,
    status: int = 200,
    headers: Optional[Mapping[str, str]] = None,
    respond: Literal["stop", "respond"] = "stop",
    response_type: Literal["json", "raw", "redirect"] = "json",
    display_name: str = "Return Response",
) -> PieceAction:
    """Answer the webhook caller (sync webhooks); `respond="stop"` also ends the run."""
    fields = {
        "status": status,
        "headers": dict(headers or {}),
        "body": {} if body is None else body,
    }
    return piece_action(
        name,
        WEBHOOK_PIECE,
        WEBHOOK_PIECE_VERSION,
        "return_response",
        {"responseType": response_type, "respond": respond, "fields": fields},
        display_name=display_name,
    )


def respond_and_wait(
    name: str = "step_1",
    *,
    body: Any = None,
    status: int = 200,
    headers: Optional[Mapping[str, str]] = None,
    response_type: Literal["json", "raw", "redirect"] = "json",
    display_name: str = "Respond and Wait for Next Webhook",
) -> PieceAction:
    """Answer the webhook caller and pause the run until a request reaches its resume URL.

    The approval step: the reply carries the resume URL in `x-activepieces-resume-webhook-url`
    (`SyncReply.resume_url`), the PAUSED run shows it too (`FlowRun.resume_url`), and
    `workflows.resume_run(run_id, request_id, payload)` resumes it; the step's output is then
    that request's `{body, headers, queryParams}` (`{{step_1.body.approved}}`). For a redirect,
    `body` is the URL.
    """
    fields = {"status": status, "headers": dict(headers or {}), "body": {} if body is None else body}
    return piece_action(
        name,
        WEBHOOK_PIECE,
        WEBHOOK_PIECE_VERSION,
        "return_response_and_wait_for_next_webhook",
        {"responseType": response_type, "fields": fields},
        display_name=display_name,
    )


def delay(
    name: str,
    amount: float,
    *,
    unit: Literal["seconds", "minutes", "hours", "days"] = "seconds",
    display_name: str = "Delay For",
) -> PieceAction:
    """Wait before the next step (longer than 10 seconds pauses the run: status PAUSED)."""
    return piece_action(
        name,
        DELAY_PIECE,
        DELAY_PIECE_VERSION,
        "delayFor",
        {"unit": unit, "delayFor": amount},
        display_name=display_name,
    )


def http_request(
    name: str,
    method: str,
    url: str,
    *,
    headers: Optional[Mapping[str, str]] = None,
    query_params: Optional[Mapping[str, str]] = None,
    json_body: Any = None,
    failsafe: bool = False,
    timeout: Optional[float] = None,
    display_name: str = "Send HTTP request",
) -> PieceAction:
    """Call an HTTP endpoint (`send_request` of the HTTP piece).

    The inputs carry every property piece-http 0.9.5 requires (`headers`, `queryParams` and
    `authType`, here `NONE`: put credentials in `headers`), so the engine marks the step valid.
    """
    inputs: dict[str, Any] = {
        "method": method.upper(),
        "url": url,
        "headers": dict(headers or {}),
        "queryParams": dict(query_params or {}),
        "authType": "NONE",
        "body_type": "none" if json_body is None else "json",
        "failsafe": failsafe,
    }
    if json_body is not None:
        inputs["body"] = {"data": json_body}
    if timeout is not None:
        inputs["timeout"] = timeout
    return piece_action(
        name, HTTP_PIECE, HTTP_PIECE_VERSION, "send_request", inputs, display_name=display_name
    )


def code(
    name: str,
    source: str,
    *,
    input: Optional[Mapping[str, Any]] = None,
    package_json: str = "{}",
    display_name: str = "Code",
) -> CodeAction:
    """A CODE step (`export const code = async (inputs) => ...`)."""
    return CodeAction(
        name=name,
        valid=True,
        display_name=display_name,
        settings=CodeActionSettings(
            source_code=SourceCode(code=source, package_json=package_json), input=dict(input or {})
        ),
    )


def loop(name: str, items: str, *, display_name: str = "Loop on Items") -> LoopOnItemsAction:
    """Loop over `items` (a template, e.g. `{{trigger.body.items}}`); add its body with `location="INSIDE_LOOP"`."""
    return LoopOnItemsAction(
        name=name, valid=True, display_name=display_name, settings=LoopOnItemsSettings(items=items)
    )


def condition(
    first_value: Any,
    operator: str,
    second_value: Any = None,
    *,
    case_sensitive: Optional[bool] = None,
) -> RouterCondition:
    """One router condition, e.g. `condition("{{trigger.body.n}}", "NUMBER_IS_GREATER_THAN", 5)`."""
    return RouterCondition(
        first_value=first_value,
        second_value=second_value,
        operator=operator,
        case_sensitive=case_sensitive,
    )


def branch(name: str, *conditions: RouterCondition | list[RouterCondition]) -> RouterBranch:
    """A CONDITION branch; each positional argument is an AND group (groups are OR-ed)."""
    groups = [c if isinstance(c, list) else [c] for c in conditions]
    return RouterBranch(branch_name=name, branch_type="CONDITION", conditions=groups)


def fallback_branch(name: str = "Otherwise") -> RouterBranch:
    return RouterBranch(branch_name=name, branch_type="FALLBACK")


def router(
    name: str,
    branches: Iterable[RouterBranch],
    *,
    execution_type: Literal["EXECUTE_FIRST_MATCH", "EXECUTE_ALL_MATCH"] = "EXECUTE_FIRST_MATCH",
    display_name: str = "Router",
) -> RouterAction:
    """A router; fill a branch with `add_action(name, step, branch_index=i)`."""
    branch_list = list(branches)
    return RouterAction(
        name=name,
        valid=True,
        display_name=display_name,
        settings=RouterSettings(execution_type=execution_type, branches=branch_list),
        children=[None] * len(branch_list),
    )
