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


def required_missing(props: dict[str, dict], values: Any) -> list[str]:
    """Required props without a value (a default counts as a value)."""
    values = values if isinstance(values, dict) else {}
    return [
        name for name, definition in props.items()
        if definition.get("required") and "defaultValue" not in definition
        and values.get(name) in (None, "")
    ]
