"""The `ImbraceCredentials` block: where a Prefect flow gets its Imbrace clients from.

The block only stores configuration; every `get_client()` call builds a new client so that
no connection pool is shared between threads, event loops or pickled copies of the block.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from prefect.blocks.abstract import CredentialsBlock
from pydantic import Field, SecretStr, field_validator

from prefect_imbrace.settings import setting

if TYPE_CHECKING:
    from prefect_imbrace.client import AsyncImbraceClient, ImbraceClient

__all__ = ["ImbraceCredentials"]

DOCUMENTATION_URL = "https://github.com/imbrace-co/prefect-imbrace/blob/main/docs/prefect.md"
LOGO_URL = "https://github.com/imbrace-co.png"

_SDK_HINT = (
    "The official Imbrace SDK is not installed; install it with "
    "`pip install 'prefect-imbrace[sdk]'` (package `imbrace`)."
)


class ImbraceCredentials(CredentialsBlock):
    """Credentials and endpoint of an Imbrace workflow engine.

    Authenticate with an API key, or with an access token plus an organisation id. The
    endpoint is an environment preset (`stable`, `develop`, `sandbox`), a gateway URL, or the
    engine URL itself. Values left empty fall back to `PREFECT_INTEGRATIONS_IMBRACE_*` and then
    `IMBRACE_*` environment variables.

    Examples:
        Load stored credentials and list flows:
        ```python
        from prefect_imbrace import ImbraceCredentials

        imbrace_credentials = ImbraceCredentials.load("BLOCK_NAME")
        with imbrace_credentials.get_client() as client:
            page = client.workflows.list_flows(limit=10)
        ```
    """

    _block_type_name = "Imbrace Credentials"
    _block_type_slug = "imbrace-credentials"
    _logo_url = LOGO_URL  # type: ignore[assignment]  # Prefect's blocks give these as text
    _documentation_url = DOCUMENTATION_URL  # type: ignore[assignment]
    _description = (
        "Credentials (API key or access token) and endpoint of an Imbrace workflow engine."
    )

    api_key: SecretStr | None = Field(
        default=None,
        title="API key",
        description="A full-access Imbrace API key; takes precedence over an access token.",
    )
    access_token: SecretStr | None = Field(
        default=None,
        title="Access token",
        description="An Imbrace access token (or JWT), used when no API key is set.",
    )
    organization_id: str | None = Field(
        default=None,
        title="Organization ID",
        description="The organisation (org_...) to act for when using an access token.",
    )
    env: Literal["stable", "prodv2", "develop", "sandbox"] | None = Field(
        default=None,
        title="Environment",
        description="Gateway preset used when no gateway or engine URL is given.",
    )
    gateway: str | None = Field(
        default=None,
        title="Gateway URL",
        description="Imbrace gateway URL, e.g. https://app-gatewayv2.imbrace.co.",
    )
    engine_url: str | None = Field(
        default=None,
        title="Engine URL",
        description="Full workflow engine URL ({gateway}/activepieces); overrides the gateway.",
    )
    ui_url: str | None = Field(
        default=None,
        title="UI URL",
        description=(
            "Imbrace web app URL for links to runs in artifacts and events: "
            "{ui_url}/projects/{project_id}/runs/{run_id}, or a template with {run_id}, "
            "{flow_id} and {project_id}. Without it artifacts show the run id and no link "
            "(Imbrace Local links to its own run pages)."
        ),
    )
    timeout: float = Field(
        default=30.0,
        gt=0,
        title="Timeout",
        description="HTTP timeout in seconds for each request.",
    )
    max_retries: int = Field(
        default=3,
        ge=0,
        title="Max retries",
        description="How many times a safe request is retried on transient errors.",
    )
    concurrency_limit: str | None = Field(
        default=None,
        title="Concurrency limit",
        description=(
            "Name of a Prefect global concurrency limit: one slot per Imbrace run in flight, "
            "held from its trigger to its end by every process that uses this block."
        ),
    )
    rate_limit: str | None = Field(
        default=None,
        title="Rate limit",
        description=(
            "Name of a Prefect global concurrency limit with slot decay: every engine request "
            "of every process that uses this block takes one slot first."
        ),
    )

    show_steps: Literal["auto", "all", "failed", "none"] | None = Field(
        default=None,
        title="Show steps",
        description=(
            "Which waited Imbrace runs show their steps as task runs in the Prefect run graph: "
            "auto, all, failed (runs that did not succeed) or none (default from settings: "
            "auto, which is all until the flow run holds 200 step task runs of successful runs, "
            "then failed runs only)."
        ),
    )
    show_fan_out_steps: Literal["auto", "all", "failed", "none"] | None = Field(
        default=None,
        title="Show fan-out steps",
        description=(
            "The same choice for the runs of a fan-out (trigger_many_and_wait); default from "
            "settings: failed, so successful runs cost no Prefect writes."
        ),
    )

    @field_validator("concurrency_limit", "rate_limit")
    @classmethod
    def _check_limit_name(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("must be the name of a Prefect global concurrency limit, or empty")
        return value.strip() if value else None

    @field_validator("gateway", "engine_url", "ui_url")
    @classmethod
    def _check_url(cls, value: str | None) -> str | None:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError(f"must be an http(s) URL, got {value!r}")
        return value.rstrip("/") if value else value

    def client_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for `ImbraceClient`, with settings applied (no secrets logged)."""
        api_key = self.api_key
        access_token = self.access_token
        organization_id = self.organization_id or setting("organization_id")
        if api_key is None and access_token is None:
            api_key = _secret(setting("api_key"))
            if api_key is None:
                access_token = _secret(setting("access_token"))
        endpoint = {
            "env": self.env,
            "gateway": self.gateway,
            "engine_url": self.engine_url,
        }
        if not any(endpoint.values()):
            endpoint = {name: setting(name) for name in endpoint}
        kwargs: dict[str, Any] = {
            "api_key": api_key.get_secret_value() if api_key else None,
            "access_token": access_token.get_secret_value() if access_token else None,
            "organization_id": organization_id,
            **endpoint,
            "timeout": self.timeout,
            "max_retries": self.max_retries,
        }
        if self.rate_limit:
            from prefect_imbrace.exactly_once.rate_limit import PrefectRateLimit

            kwargs["request_gate"] = PrefectRateLimit(self.rate_limit)
        return kwargs

    def get_client(self) -> ImbraceClient:
        """A new synchronous client; use it in a `with` block to close its connections."""
        from prefect_imbrace.client import ImbraceClient

        return ImbraceClient(**self.client_kwargs())

    def get_async_client(self) -> AsyncImbraceClient:
        """A new asynchronous client; use it in an `async with` block."""
        from prefect_imbrace.client import AsyncImbraceClient

        return AsyncImbraceClient(**self.client_kwargs())

    def get_sdk_client(self, asynchronous: bool = False) -> Any:
        """The official `imbrace` SDK client configured like `get_client()`.

        Raises:
            ImportError: the `imbrace` package is not installed.
        """
        try:
            import imbrace
        except ImportError as exc:
            raise ImportError(_SDK_HINT) from exc
        kwargs = self.client_kwargs()
        sdk_kwargs: dict[str, Any] = {
            "api_key": kwargs["api_key"],
            "access_token": kwargs["access_token"],
            "organization_id": kwargs["organization_id"],
            "timeout": kwargs["timeout"],
        }
        if kwargs["env"]:
            sdk_kwargs["env"] = kwargs["env"]
        if kwargs["gateway"]:
            sdk_kwargs["gateway"] = kwargs["gateway"]
        if kwargs["engine_url"]:
            sdk_kwargs["services"] = {"workflow_engine": kwargs["engine_url"]}
        cls = imbrace.AsyncImbraceClient if asynchronous else imbrace.ImbraceClient
        return cls(**sdk_kwargs)

    def test_connection(self) -> None:
        """Make one cheap authenticated call; raises the client's typed error on failure."""
        with self.get_client() as client:
            client.workflows.list_flows(limit=1)
        self.logger.info("Connected to the Imbrace engine.")


def _secret(value: Any) -> SecretStr | None:
    if value is None or isinstance(value, SecretStr):
        return value
    return SecretStr(str(value))
