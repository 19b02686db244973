"""The file format of Imbrace objects as code: pydantic models, and the source of the JSON Schema.

A directory holds YAML files; each file may declare any of `folders`, `connections`, `tables`,
`flows` and `mcp_servers` (the loader merges them). Objects are matched across projects by the
stable name the files give them, never by id: folders and tables by name, connections by
`external_id`, flows by `key` (kept in the Imbrace flow's `metadata`), MCP servers by name.

Steps come in two forms that may be mixed in one flow:

* the engine's own shape (`type: PIECE | CODE | LOOP_ON_ITEMS | ROUTER | MULTIPLE_CHOICE`,
  `displayName`, `settings` exactly as `GET /v1/flows/{id}` shows them), so any flow the engine
  can hold round-trips; a loop's body is `loopSteps` and a router's branches are `branchSteps`
  (lists instead of the engine's `firstLoopAction` / `children` links, which are accepted too);
* the builders' friendlier form for the steps `prefect_imbrace.client.operations` knows
  (`return_response`, `http_request`, `delay`, `code`, `piece_action`, `loop`, `router`).

Secrets are never written in these files: a connection names an environment variable or a
Prefect `Secret` block (`secret: {env: NAME}` / `secret: {block: NAME}`).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, model_validator

ENGINE_ACTION_TYPES = ("PIECE", "CODE", "LOOP_ON_ITEMS", "ROUTER", "MULTIPLE_CHOICE")
ENGINE_TRIGGER_TYPES = ("PIECE_TRIGGER", "EMPTY")
BUILDER_ACTIONS = (
    "return_response",
    "http_request",
    "delay",
    "code",
    "piece_action",
    "loop",
    "router",
)
BUILDER_TRIGGERS = ("catch_webhook",)
KEY_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$"


class _Strict(BaseModel):
    """Unknown keys are refused: a typo in a file must not be dropped silently."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


# ------------------------------------------------------------------------------ builder steps


class ReturnResponseStep(_Strict):
    """`ops.return_response(...)`: answer the webhook caller (sync webhooks)."""

    body: Any = None
    status: int = 200
    headers: dict[str, str] = Field(default_factory=dict)
    respond: Literal["stop", "respond"] = "stop"
    response_type: Literal["json", "raw", "redirect"] = "json"
    display_name: str = "Return Response"


class HttpRequestStep(_Strict):
    """`ops.http_request(...)`: call an HTTP endpoint (HTTP piece, `send_request`)."""

    method: str
    url: str
    headers: dict[str, str] = Field(default_factory=dict)
    query_params: dict[str, str] = Field(default_factory=dict)
    json_body: Any = None
    failsafe: bool = False
    timeout: Optional[float] = None
    display_name: str = "Send HTTP request"


class DelayStep(_Strict):
    """`ops.delay(...)`: wait before the next step."""

    amount: float
    unit: Literal["seconds", "minutes", "hours", "days"] = "seconds"
    display_name: str = "Delay For"


class CodeStep(_Strict):
    """`ops.code(...)`: a CODE step (`export const code = async (inputs) => ...`)."""

    source: str
    input: dict[str, Any] = Field(default_factory=dict)
    package_json: str = "{}"
    display_name: str = "Code"


class PieceActionStep(_Strict):
    """`ops.piece_action(...)`: any piece action."""

    piece_name: str
    piece_version: str
    action_name: str
    input: dict[str, Any] = Field(default_factory=dict)
    display_name: Optional[str] = None
    continue_on_failure: bool = False
    retry_on_failure: bool = False


class LoopStep(_Strict):
    """`ops.loop(...)` with its body: `steps` run once per item of `items`."""

    items: str
    steps: list[Step] = Field(default_factory=list)
    display_name: str = "Loop on Items"


class Condition(_Strict):
    """One router condition (`ops.condition(...)`)."""

    first_value: Any = None
    operator: str
    second_value: Any = None
    case_sensitive: Optional[bool] = None


class RouterBranch(_Strict):
    """A branch: CONDITION when `conditions` is given (OR of AND groups), FALLBACK otherwise."""

    name: str
    conditions: Optional[list[list[Condition]]] = None
    steps: list[Step] = Field(default_factory=list)


class RouterStep(_Strict):
    """`ops.router(...)` with the steps of each branch."""

    branches: list[RouterBranch]
    execution_type: Literal["EXECUTE_FIRST_MATCH", "EXECUTE_ALL_MATCH"] = "EXECUTE_FIRST_MATCH"
    display_name: str = "Router"


class BuilderStep(_Strict):
    """A step in the builders' form: `name` plus exactly one builder key."""

    name: str
    skip: bool = False
    return_response: Optional[ReturnResponseStep] = None
    http_request: Optional[HttpRequestStep] = None
    delay: Optional[DelayStep] = None
    code: Optional[CodeStep] = None
    piece_action: Optional[PieceActionStep] = None
    loop: Optional[LoopStep] = None
    router: Optional[RouterStep] = None

    @model_validator(mode="after")
    def _exactly_one(self) -> BuilderStep:
        given = [key for key in BUILDER_ACTIONS if getattr(self, key) is not None]
        if len(given) != 1:
            raise ValueError(
                f"step {self.name!r} needs exactly one of {', '.join(BUILDER_ACTIONS)} "
                f"(got {', '.join(given) or 'none'})"
            )
        return self

    @property
    def kind(self) -> str:
        return next(key for key in BUILDER_ACTIONS if getattr(self, key) is not None)


# ------------------------------------------------------------------------------ engine steps


class EngineStep(_Strict):
    """An action in the engine's own shape (`GET /v1/flows/{id}`), links given as lists."""

    name: str
    type: Literal["PIECE", "CODE", "LOOP_ON_ITEMS", "ROUTER", "MULTIPLE_CHOICE"]
    displayName: Optional[str] = None
    skip: Optional[bool] = None
    valid: Optional[bool] = None
    settings: dict[str, Any] = Field(default_factory=dict)
    loopSteps: Optional[list[Step]] = None
    """LOOP_ON_ITEMS: the loop body (instead of the engine's `firstLoopAction` link)."""
    branchSteps: Optional[list[list[Step]]] = None
    """ROUTER / MULTIPLE_CHOICE: the steps of each branch, aligned with `settings.branches`."""
    nextAction: Optional[dict[str, Any]] = None
    firstLoopAction: Optional[dict[str, Any]] = None
    children: Optional[list[Optional[dict[str, Any]]]] = None


def _step_tag(value: Any) -> str:
    if isinstance(value, dict):
        return "engine" if "type" in value else "builder"
    return "engine" if isinstance(value, EngineStep) else "builder"


Step = Annotated[
    Union[Annotated[EngineStep, Tag("engine")], Annotated[BuilderStep, Tag("builder")]],
    Discriminator(_step_tag),
]


class CatchWebhookTrigger(_Strict):
    """`ops.catch_webhook(...)`: the inbound-webhook trigger."""

    auth_type: Literal["none", "basic", "header"] = "none"
    auth_fields: Optional[dict[str, Any]] = None
    display_name: str = "Catch Webhook"


class BuilderTrigger(_Strict):
    catch_webhook: CatchWebhookTrigger


class EngineTrigger(_Strict):
    """The trigger in the engine's own shape; `nextAction` (the whole chain) is accepted."""

    name: Literal["trigger"] = "trigger"
    type: Literal["PIECE_TRIGGER", "EMPTY"]
    displayName: Optional[str] = None
    valid: Optional[bool] = None
    settings: dict[str, Any] = Field(default_factory=dict)
    nextAction: Optional[dict[str, Any]] = None


Trigger = Annotated[
    Union[Annotated[EngineTrigger, Tag("engine")], Annotated[BuilderTrigger, Tag("builder")]],
    Discriminator(_step_tag),
]

# ------------------------------------------------------------------------------ objects


class FolderSpec(_Strict):
    """A folder the files manage (`apply --prune` only deletes flows inside managed folders)."""

    name: str


class SecretSource(_Strict):
    """Where a connection's secret comes from: an environment variable or a Prefect Secret block.

    The value is the secret text (`SECRET_TEXT`) or a JSON object with the value fields of the
    connection type (`BASIC_AUTH`: `{"username", "password"}`, `CUSTOM_AUTH`: `{"props"}`, ...).
    """

    env: Optional[str] = None
    block: Optional[str] = None

    @model_validator(mode="after")
    def _one_source(self) -> SecretSource:
        if (self.env is None) == (self.block is None):
            raise ValueError("give exactly one of `env: VARIABLE_NAME` or `block: SECRET_BLOCK_NAME`")
        return self


class ConnectionSpec(_Strict):
    """An app connection, matched by `external_id` (the name flows use: `{{connections['id']}}`)."""

    external_id: str
    display_name: str
    piece_name: str
    type: Literal[
        "SECRET_TEXT", "BASIC_AUTH", "CUSTOM_AUTH", "NO_AUTH", "OAUTH2", "CLOUD_OAUTH2", "PLATFORM_OAUTH2"
    ] = "SECRET_TEXT"
    secret: Optional[SecretSource] = None
    """Required unless `type: NO_AUTH`. Never the secret itself."""
    metadata: Optional[dict[str, Any]] = None


class FieldSpec(_Strict):
    name: str
    type: Literal["TEXT", "NUMBER", "DATE", "STATIC_DROPDOWN"] = "TEXT"
    options: Optional[list[str]] = None
    """STATIC_DROPDOWN only: the allowed values."""


class TableSpec(_Strict):
    """A table with its fields, matched by name."""

    name: str
    fields: list[FieldSpec] = Field(default_factory=list)


class McpPieceTool(_Strict):
    """A piece action as an MCP tool (the engine requires every field but the connection)."""

    piece_name: str
    piece_version: str
    action_name: str
    action_display_name: str
    logo_url: str
    connection_external_id: Optional[str] = None


class McpToolSpec(_Strict):
    """A tool: a piece action (`piece`) or one of the declared flows by key (`flow`)."""

    piece: Optional[McpPieceTool] = None
    flow: Optional[str] = None

    @model_validator(mode="after")
    def _one_kind(self) -> McpToolSpec:
        if (self.piece is None) == (self.flow is None):
            raise ValueError("a tool is either `piece: {...}` or `flow: <flow key>`")
        return self


class McpServerSpec(_Strict):
    """An MCP server, matched by name; its token is never exported."""

    name: str
    tools: list[McpToolSpec] = Field(default_factory=list)


class FlowSpec(_Strict):
    """An Imbrace flow, matched across projects by `key` (kept in the flow's `metadata`)."""

    key: str = Field(pattern=KEY_PATTERN)
    display_name: str
    folder: Optional[str] = None
    """A folder declared in `folders`; none = uncategorised."""
    status: Literal["ENABLED", "DISABLED", "DRAFT"] = "ENABLED"
    """ENABLED / DISABLED: published with that status; DRAFT: edited but never published by apply."""
    metadata: dict[str, Any] = Field(default_factory=dict)
    """Other metadata of the flow (e.g. `tags`); the key is added by apply."""
    trigger: Trigger
    steps: list[Step] = Field(default_factory=list)
    """The action chain after the trigger (or give it as the trigger's `nextAction`)."""


class ImbraceFile(_Strict):
    """One YAML file of an as-code directory; every key is optional."""

    folders: list[FolderSpec] = Field(default_factory=list)
    connections: list[ConnectionSpec] = Field(default_factory=list)
    tables: list[TableSpec] = Field(default_factory=list)
    flows: list[FlowSpec] = Field(default_factory=list)
    mcp_servers: list[McpServerSpec] = Field(default_factory=list)


for _model in (LoopStep, RouterBranch, EngineStep, BuilderStep, FlowSpec, ImbraceFile):
    _model.model_rebuild()
