"""Settings of the Prefect layer, read from `PREFECT_INTEGRATIONS_IMBRACE_*` and `IMBRACE_*`.

Prefect's settings machinery gives us `prefect.toml` / `pyproject.toml` / `.env` support for
free (table `[integrations.imbrace]`). The plain `IMBRACE_*` variables are honoured as a
fallback so that the same environment drives the client, the SDK and the block.

Precedence for a value: explicit block field > `PREFECT_INTEGRATIONS_IMBRACE_<NAME>` >
`IMBRACE_<NAME>` > built-in default.
"""

from __future__ import annotations

import os
from typing import Any, Literal

from prefect.settings.base import PrefectBaseSettings, build_settings_config
from pydantic import Field, SecretStr

__all__ = ["ImbraceSettings", "env_name", "get_settings", "setting"]


class ImbraceSettings(PrefectBaseSettings):
    """Defaults for credentials and for waiting on Imbrace runs."""

    model_config = build_settings_config(("integrations", "imbrace"))

    api_key: SecretStr | None = Field(default=None, description="Imbrace API key.")
    access_token: SecretStr | None = Field(default=None, description="Imbrace access token.")
    organization_id: str | None = Field(default=None, description="Organisation id (org_...).")
    env: str | None = Field(default=None, description="Gateway preset name.")
    gateway: str | None = Field(default=None, description="Gateway URL.")
    engine_url: str | None = Field(default=None, description="Engine URL ({gateway}/activepieces).")
    ui_url: str | None = Field(default=None, description="Base URL used for links to runs.")
    timeout: float | None = Field(default=None, description="HTTP timeout in seconds.")
    max_retries: int | None = Field(default=None, description="HTTP retries of safe requests.")

    poll_interval: float = Field(default=0.5, description="First polling interval (s).")
    max_poll_interval: float = Field(default=10.0, description="Largest polling interval (s).")
    wait_timeout: float = Field(default=3600.0, description="Overall wait limit (s).")
    paused_timeout: float | None = Field(default=None, description="Limit on PAUSED time (s).")
    max_poll_errors: int = Field(default=10, description="Tolerated transient polling errors.")
    correlation_grace: float = Field(
        default=15.0, description="How long a trigger's run may take to appear (s)."
    )
    clock_skew: float = Field(default=120.0, description="Margin for clock skew (s).")
    record_after: float = Field(
        default=10.0,
        description="A first attempt's trigger is written to the Prefect API once its run "
        "has outlived this many seconds (s); shorter runs write nothing there.",
    )
    record_retention: float = Field(
        default=7 * 24 * 3600.0,
        description="How long trigger records outlive the final state of their Prefect flow "
        "run before they are pruned (s).",
    )
    trigger_concurrency: int = Field(
        default=16, description="In-process limit on concurrent triggers."
    )
    concurrency_limit_name: str | None = Field(
        default=None, description="Name of a Prefect global concurrency limit for triggers."
    )
    show_steps: Literal["auto", "all", "failed", "none"] = Field(
        default="auto",
        description="Which waited runs show their steps as task runs (single waits); auto: "
        "all of them until the flow run holds auto_steps_per_flow_run step task runs of "
        "successful runs, then failed runs only.",
    )
    auto_steps_per_flow_run: int = Field(
        default=200, ge=0,
        description="With show_steps 'auto': step task runs of successful Imbrace runs a "
        "Prefect flow run holds at most (a run is shown whole if the flow run is under it).",
    )
    show_fan_out_steps: Literal["auto", "all", "failed", "none"] = Field(
        default="failed",
        description="Which runs of a fan-out show their steps as task runs.",
    )


def env_name(name: str) -> str:
    """The plain variable of a setting: `IMBRACE_<NAME>`, except `gateway` (`IMBRACE_GATEWAY_URL`)."""
    return "IMBRACE_GATEWAY_URL" if name == "gateway" else f"IMBRACE_{name.upper()}"


def get_settings() -> ImbraceSettings:
    """Read the settings now (cheap; environment changes are seen by the next call)."""
    return ImbraceSettings()


def setting(name: str, default: Any = None) -> Any:
    """One value: Prefect-style setting first, then the plain `IMBRACE_<NAME>` variable."""
    value = getattr(get_settings(), name, None)
    if value is None:
        value = os.environ.get(env_name(name)) or None
    return default if value is None else value
