"""Flow, FlowVersion and the step tree (trigger + linked actions), imbrace-api.md §4.

Triggers and actions are discriminated unions on `type`; a type this client does not know
(an older or newer engine) parses into `UnknownTrigger` / `UnknownAction` instead of failing.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Annotated, Any, Literal, Optional, Union

from pydantic import Discriminator, Field, Tag

from ._base import ImbraceModel

# ------------------------------------------------------------------------------ settings


class PieceTriggerSettings(ImbraceModel):
    piece_name: str
    """e.g. `@activepieces/piece-webhook`."""
    piece_version: str
    """`X.Y.Z`, or a range `~X.Y.Z` / `^X.Y.Z` in drafts."""
    trigger_name: str
    input: dict[str, Any] = Field(default_factory=dict)
    property_settings: dict[str, Any] = Field(default_factory=dict)
    sample_data: Optional[dict[str, Any]] = None
    custom_logo_url: Optional[str] = None


class PieceActionSettings(ImbraceModel):
    piece_name: str
    piece_version: str
    action_name: str
    input: dict[str, Any] = Field(default_factory=dict)
    property_settings: dict[str, Any] = Field(default_factory=dict)
    error_handling_options: Optional[dict[str, Any]] = None
    """`{continueOnFailure: {value}, retryOnFailure: {value}}`."""
    sample_data: Optional[dict[str, Any]] = None
    custom_logo_url: Optional[str] = None


class SourceCode(ImbraceModel):
    code: str
    package_json: str = "{}"


class CodeActionSettings(ImbraceModel):
    source_code: SourceCode
    input: dict[str, Any] = Field(default_factory=dict)
    error_handling_options: Optional[dict[str, Any]] = None


class LoopOnItemsSettings(ImbraceModel):
    items: str
    """A template resolving to a list, e.g. `{{trigger.body.items}}`."""


class RouterCondition(ImbraceModel):
    first_value: Any = None
    second_value: Any = None
    operator: str
    """e.g. `TEXT_EXACTLY_MATCHES`, `NUMBER_IS_GREATER_THAN`, `EXISTS` (note `TEXT_START_WITH`)."""
    case_sensitive: Optional[bool] = None


class RouterBranch(ImbraceModel):
    branch_name: str
    branch_type: str = "CONDITION"
    """`CONDITION` or `FALLBACK`."""
    conditions: Optional[list[list[RouterCondition]]] = None
    """Outer list: OR of groups; inner list: AND of conditions."""


class RouterSettings(ImbraceModel):
    execution_type: str = "EXECUTE_FIRST_MATCH"
    """`EXECUTE_FIRST_MATCH` or `EXECUTE_ALL_MATCH`."""
    branches: list[RouterBranch] = Field(default_factory=list)


class MultipleChoiceSettings(RouterSettings):
    save_answer: Optional[bool] = None
    channel_type: Optional[str] = None
    question: Optional[str] = None
    source: Optional[str] = None


# ------------------------------------------------------------------------------ actions

KNOWN_ACTION_TYPES = ("PIECE", "CODE", "LOOP_ON_ITEMS", "ROUTER", "MULTIPLE_CHOICE")
KNOWN_TRIGGER_TYPES = ("EMPTY", "PIECE_TRIGGER")


def _tag(value: Any, known: tuple[str, ...], fallback: str) -> str:
    kind = value.get("type") if isinstance(value, dict) else getattr(value, "type", None)
    return kind if kind in known else fallback


def _action_tag(value: Any) -> str:
    return _tag(value, KNOWN_ACTION_TYPES, "UNKNOWN")


def _trigger_tag(value: Any) -> str:
    return _tag(value, KNOWN_TRIGGER_TYPES, "UNKNOWN")


class _Step(ImbraceModel):
    name: str
    """Unique step name; the trigger is always `trigger`, actions default to `step_N`."""
    display_name: Optional[str] = None
    valid: Optional[bool] = None
    next_action: Optional[Action] = None

    def children(self) -> list[Action]:
        """Steps nested inside this one (loop body, router branches), not the `next_action` chain."""
        return []


class _ActionBase(_Step):
    skip: Optional[bool] = None


class PieceAction(_ActionBase):
    type: Literal["PIECE"] = "PIECE"
    settings: PieceActionSettings


class CodeAction(_ActionBase):
    type: Literal["CODE"] = "CODE"
    settings: CodeActionSettings


class LoopOnItemsAction(_ActionBase):
    type: Literal["LOOP_ON_ITEMS"] = "LOOP_ON_ITEMS"
    settings: LoopOnItemsSettings
    first_loop_action: Optional[Action] = None

    def children(self) -> list[Action]:
        return [self.first_loop_action] if self.first_loop_action else []


class RouterAction(_ActionBase):
    type: Literal["ROUTER"] = "ROUTER"
    settings: RouterSettings
    children_: list[Optional[Action]] = Field(default_factory=list, alias="children")
    """First action of each branch (aligned with `settings.branches`), or None."""

    def children(self) -> list[Action]:
        return [c for c in self.children_ if c is not None]


class MultipleChoiceAction(_ActionBase):
    """Imbrace fork only: a router that asks a question on a channel."""

    type: Literal["MULTIPLE_CHOICE"] = "MULTIPLE_CHOICE"
    settings: MultipleChoiceSettings
    children_: list[Optional[Action]] = Field(default_factory=list, alias="children")

    def children(self) -> list[Action]:
        return [c for c in self.children_ if c is not None]


class UnknownAction(_ActionBase):
    """An action type this client does not know; everything is kept as extra fields."""

    type: str
    settings: Optional[dict[str, Any]] = None


Action = Annotated[
    Union[
        Annotated[PieceAction, Tag("PIECE")],
        Annotated[CodeAction, Tag("CODE")],
        Annotated[LoopOnItemsAction, Tag("LOOP_ON_ITEMS")],
        Annotated[RouterAction, Tag("ROUTER")],
        Annotated[MultipleChoiceAction, Tag("MULTIPLE_CHOICE")],
        Annotated[UnknownAction, Tag("UNKNOWN")],
    ],
    Discriminator(_action_tag),
]

# ------------------------------------------------------------------------------ triggers


class EmptyTrigger(_Step):
    """The placeholder of a new flow; a flow with it cannot be enabled."""

    name: str = "trigger"
    type: Literal["EMPTY"] = "EMPTY"
    settings: dict[str, Any] = Field(default_factory=dict)


class PieceTrigger(_Step):
    name: str = "trigger"
    type: Literal["PIECE_TRIGGER"] = "PIECE_TRIGGER"
    settings: PieceTriggerSettings


class UnknownTrigger(_Step):
    name: str = "trigger"
    type: str
    settings: Optional[dict[str, Any]] = None


Trigger = Annotated[
    Union[
        Annotated[EmptyTrigger, Tag("EMPTY")],
        Annotated[PieceTrigger, Tag("PIECE_TRIGGER")],
        Annotated[UnknownTrigger, Tag("UNKNOWN")],
    ],
    Discriminator(_trigger_tag),
]

for _model in (
    _Step,
    _ActionBase,
    PieceAction,
    CodeAction,
    LoopOnItemsAction,
    RouterAction,
    MultipleChoiceAction,
    UnknownAction,
    EmptyTrigger,
    PieceTrigger,
    UnknownTrigger,
):
    _model.model_rebuild()


def iter_steps(first: _Step | None) -> Iterator[_Step]:
    """Depth-first walk over a step chain: each step, its nested children, then its successor."""
    stack: list[_Step] = [first] if first is not None else []
    while stack:
        step = stack.pop()
        yield step
        if step.next_action is not None:
            stack.append(step.next_action)
        stack.extend(reversed(step.children()))


# ------------------------------------------------------------------------------ flow


class FlowVersion(ImbraceModel):
    id: Optional[str] = None
    created: Optional[datetime] = None
    updated: Optional[datetime] = None
    flow_id: Optional[str] = None
    display_name: Optional[str] = None
    """The flow's name lives on its version."""
    trigger: Optional[Trigger] = None
    updated_by: Optional[str] = None
    valid: Optional[bool] = None
    schema_version: Optional[str] = None
    state: Optional[str] = None
    """`DRAFT` or `LOCKED`."""
    connection_ids: list[str] = Field(default_factory=list)
    agent_ids: list[str] = Field(default_factory=list)
    backup_files: Optional[dict[str, Any]] = None

    def steps(self) -> list[_Step]:
        """Every step, trigger first, in depth-first order."""
        return list(iter_steps(self.trigger))

    def step(self, name: str) -> _Step | None:
        """The step called `name`, or None."""
        return next((s for s in iter_steps(self.trigger) if s.name == name), None)


class Flow(ImbraceModel):
    """An Imbrace flow (`PopulatedFlow`): the flow row plus its latest (or requested) version."""

    id: str
    created: Optional[datetime] = None
    updated: Optional[datetime] = None
    project_id: Optional[str] = None
    external_id: Optional[str] = None
    folder_id: Optional[str] = None
    status: Optional[str] = None
    """`ENABLED` or `DISABLED` (kept as text so new values never break parsing)."""
    published_version_id: Optional[str] = None
    metadata: Optional[dict[str, Any]] = None
    operation_status: Optional[str] = None
    """`NONE`, `DELETING`, `ENABLING`, `DISABLING`."""
    version: Optional[FlowVersion] = None
    trigger_source: Optional[dict[str, Any]] = None

    @property
    def display_name(self) -> str | None:
        return self.version.display_name if self.version else None

    @property
    def is_enabled(self) -> bool:
        return self.status == "ENABLED"

    @property
    def is_published(self) -> bool:
        return self.published_version_id is not None
