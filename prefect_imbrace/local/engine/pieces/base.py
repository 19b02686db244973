"""What a piece is to Imbrace Local: metadata for the catalogue plus handlers for execution."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..model import RunContext


def prop(display_name: str, kind: str, required: bool = False, **extra: Any) -> dict:
    """A property definition in the shape `GET /v1/pieces/{name}` shows."""
    return {"displayName": display_name, "required": required, **extra, "type": kind}


def dropdown(display_name: str, options: list[tuple[str, str]], required: bool = False,
             default: Any = None) -> dict:
    extra: dict[str, Any] = {} if default is None else {"defaultValue": default}
    choices = [{"label": label, "value": value} for label, value in options]
    return prop(display_name, "STATIC_DROPDOWN", required,
                **extra, options={"disabled": False, "options": choices})


@dataclass
class StepCall:
    """One invocation of an action handler."""

    step_name: str
    input: dict
    ctx: RunContext
    resumed: bool = False  # True when re-entering a step that paused the run
    respond: Callable[[dict], Awaitable[None]] | None = None  # sends the webhook reply (once)


Handler = Callable[[StepCall], Awaitable[Any]]


@dataclass
class Action:
    name: str
    display_name: str
    description: str
    props: dict[str, dict]
    handler: Handler
    aliases: tuple[str, ...] = ()
    retry_default: bool = False

    def metadata(self) -> dict:
        return {"name": self.name, "displayName": self.display_name,
                "description": self.description, "props": self.props, "requireAuth": True,
                "errorHandlingOptions": {
                    "continueOnFailure": {"defaultValue": False},
                    "retryOnFailure": {"defaultValue": self.retry_default}}}


@dataclass
class Trigger:
    name: str
    display_name: str
    description: str
    props: dict[str, dict]
    strategy: str = "WEBHOOK"  # or POLLING (schedule triggers)

    def metadata(self) -> dict:
        return {"name": self.name, "displayName": self.display_name,
                "description": self.description, "props": self.props, "requireAuth": True,
                "type": self.strategy, "sampleData": {}}


@dataclass
class Piece:
    name: str
    display_name: str
    version: str
    description: str
    logo_url: str
    authors: list[str]
    categories: list[str]
    minimum_supported_release: str
    actions: list[Action] = field(default_factory=list)
    triggers: list[Trigger] = field(default_factory=list)

    def action(self, name: str) -> Action | None:
        return next((a for a in self.actions if name == a.name or name in a.aliases), None)

    def trigger(self, name: str) -> Trigger | None:
        return next((t for t in self.triggers if t.name == name), None)


_TEXT = ("SHORT_TEXT", "LONG_TEXT", "DATE_TIME", "FILE")


def _value_fits(kind: str, value: Any, required: bool) -> bool:
    """Whether `value` has the type the engine's validator wants for a property of `kind`."""
    if kind in _TEXT:
        return isinstance(value, str) and (bool(value) or not required)
    if kind == "CHECKBOX":
        return isinstance(value, (bool, str))
    if kind == "NUMBER":  # a template (text) or a number
        return isinstance(value, (str, int, float)) and not isinstance(value, bool)
    if kind == "OBJECT":
        return isinstance(value, (dict, str))
    if kind == "JSON":
        return isinstance(value, (dict, list, str))
    if kind == "DYNAMIC":
        return isinstance(value, dict)
    if kind in ("ARRAY", "MULTI_SELECT_DROPDOWN", "STATIC_MULTI_SELECT_DROPDOWN"):
        return isinstance(value, (list, str)) or (kind == "ARRAY" and isinstance(value, dict))
    return value is not None  # STATIC_DROPDOWN, DROPDOWN, CUSTOM: anything but null


def inputs_valid(props: dict[str, dict], values: Any) -> bool:
    """The engine's check of a step's inputs against its piece's properties, at save time.

    As the 0.72.4 server validates them (a schema built from the piece metadata): a required
    property must be present with a value of its type (non-empty for text), and a default
    value does not stand in for a missing one (the builder UI writes defaults into the inputs;
    an API client must send them). An optional property may be absent or null, and otherwise
    must have its type too. Unknown inputs are allowed; MARKDOWN properties are never checked.
    """
    if not isinstance(values, dict):
        return False
    for name, definition in props.items():
        kind = definition.get("type", "")
        if kind == "MARKDOWN":
            continue
        value = values.get(name)
        if value is None and not definition.get("required"):
            continue
        if value is None or not _value_fits(kind, value, bool(definition.get("required"))):
            return False
    return True
