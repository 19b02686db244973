"""Build a webhook-triggered Imbrace flow in one call: create, set the trigger, chain steps, publish.

Most flows driven from Prefect have the same shape (a webhook trigger and steps in a row), and
building one takes a create call plus one flow operation per step. `create_webhook_flow` does
exactly that, in that order; anything else (router branches, loops) is added afterwards with
`apply_flow_operation` on a draft (`publish=False`)::

    from prefect_imbrace.client import operations as ops
    from prefect_imbrace.client import create_webhook_flow

    flow = create_webhook_flow(client, "Echo", [ops.return_response(body={"echo": "{{trigger.body}}"})])
    client.workflows.trigger_flow_sync(flow_id=flow.id, payload={"n": 1})

The operations are planned (and the input checked) before anything is sent, so bad input creates
nothing. An engine error midway is not undone: the flow stays as a draft, so you can see why.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from pydantic import BaseModel

from ..exceptions import ImbraceConfigurationError
from . import operations as ops
from .models import Flow

if TYPE_CHECKING:
    from ._client import ImbraceClient

__all__ = ["create_webhook_flow"]


def _step_name(action: ops.StepLike) -> str:
    name = action.get("name") if isinstance(action, Mapping) else getattr(action, "name", None)
    if not isinstance(name, str) or not name:
        raise ImbraceConfigurationError(
            "Each action needs a `name` (the next action is added after it): give one to "
            f"{type(action).__name__} (e.g. ops.return_response('step_1', ...))."
        )
    return name


def _build_operations(
    actions: Sequence[ops.StepLike], trigger: ops.StepLike | None
) -> list[ops.FlowOperation]:
    """The trigger, then each action after the one before it (the first after `trigger`)."""
    if isinstance(actions, (str, bytes, Mapping, BaseModel)) or not isinstance(actions, Sequence):
        raise ImbraceConfigurationError(
            f"actions must be a list of steps (e.g. [ops.return_response(...)]), "
            f"not {type(actions).__name__}."
        )
    operations = [ops.update_trigger(ops.catch_webhook() if trigger is None else trigger)]
    parent = "trigger"
    for action in actions:
        operations.append(ops.add_action(parent, action))
        parent = _step_name(action)
    return operations


def create_webhook_flow(
    client: ImbraceClient,
    display_name: str,
    actions: Sequence[ops.StepLike],
    *,
    trigger: ops.StepLike | None = None,
    folder_id: str | None = None,
    publish: bool = True,
) -> Flow:
    """A new flow with a webhook trigger and `actions` in a row, locked and published (ENABLED).

    `trigger` defaults to `ops.catch_webhook()`; pass e.g. `ops.catch_webhook(auth_type=...)`.
    With `publish=False` the flow stays a DISABLED draft, so you can add branches or loops with
    `apply_flow_operation` and publish it yourself. Returns the flow as the engine answered the
    last operation (after publishing: with its `published_version_id`).
    """
    operations = _build_operations(actions, trigger)
    if publish:
        operations.append(ops.lock_and_publish())
    flow = client.workflows.create_flow(display_name=display_name, folder_id=folder_id)
    for operation in operations:
        flow = client.workflows.apply_flow_operation(flow_id=flow.id, operation=operation)
    return flow
