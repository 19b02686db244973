"""Where the engine is and who we are: env presets, env vars, auth precedence.

Mirrors the official SDK (imbrace 1.3.1, imbrace-api.md §16) so a user's existing settings work
unchanged, with two deliberate differences: explicit arguments beat environment variables as a
group (an `access_token=` argument is not overridden by a stray `IMBRACE_API_KEY`), and an
unknown `env` name is an error instead of a silent fallback.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from ..exceptions import ImbraceConfigurationError

ENVIRONMENTS: dict[str, str] = {
    "develop": "https://app-gateway.dev.imbrace.co",
    "sandbox": "https://app-gateway.sandbox.imbrace.co",
    "stable": "https://app-gatewayv2.imbrace.co",
    "prodv2": "https://app-gatewayv2.imbrace.co",
}
"""Gateway URL per environment name, as in the SDK's `environments.py`."""

DEFAULT_ENV = "stable"
ENGINE_PREFIX = "/activepieces"

AuthMode = Literal["api_key", "bearer", "access_token", "none"]


def _is_jwt(token: str) -> bool:
    """The SDK's test: three dot-separated parts starting with `eyJ` (opaque tokens are not JWTs)."""
    return token.startswith("eyJ") and len(token.split(".")) == 3


@dataclass(frozen=True)
class ClientConfig:
    """Resolved settings. Secrets are kept out of `repr` (the dataclass fields use repr=False)."""

    engine_url: str
    api_key: str | None = field(default=None, repr=False)
    access_token: str | None = field(default=None, repr=False)
    organization_id: str | None = None

    @property
    def auth_mode(self) -> AuthMode:
        """Which header set goes out, in the SDK's order: API key, then Bearer JWT + org, then token."""
        if self.api_key:
            return "api_key"
        if self.access_token and self.organization_id and _is_jwt(self.access_token):
            return "bearer"
        if self.access_token:
            return "access_token"
        return "none"

    def auth_headers(self) -> dict[str, str]:
        """The headers for `auth_mode`; the only place a credential is copied out of this object."""
        mode = self.auth_mode
        if mode == "api_key":
            return {"x-api-key": self.api_key or ""}
        if mode == "bearer":
            return {
                "authorization": f"Bearer {self.access_token}",
                "x-organization-id": self.organization_id or "",
            }
        if mode == "access_token":
            headers = {"x-access-token": self.access_token or ""}
            if self.organization_id:
                headers["x-organization-id"] = self.organization_id
            return headers
        return {}

    def secrets(self) -> tuple[str, ...]:
        """Every credential value, so tests (and log filters) can check none leaks."""
        return tuple(s for s in (self.api_key, self.access_token) if s)


def _clean(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    return value or None


def resolve_config(
    *,
    api_key: str | None = None,
    access_token: str | None = None,
    organization_id: str | None = None,
    env: str | None = None,
    gateway: str | None = None,
    engine_url: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> ClientConfig:
    """Combine arguments and `IMBRACE_*` variables into one `ClientConfig`.

    URL: `engine_url` > `gateway` > `env` > `IMBRACE_GATEWAY_URL` > `IMBRACE_ENV` > "stable";
    the engine lives at `{gateway}/activepieces`. Credentials: arguments if any credential
    argument is given, else `IMBRACE_API_KEY` / `IMBRACE_ACCESS_TOKEN`; the organisation is
    `organization_id` or `IMBRACE_ORGANIZATION_ID`.
    """
    environ = os.environ if environ is None else environ
    url = _resolve_engine_url(env=env, gateway=gateway, engine_url=engine_url, environ=environ)

    api_key, access_token = _clean(api_key), _clean(access_token)
    if api_key is None and access_token is None:
        api_key = _clean(environ.get("IMBRACE_API_KEY"))
        access_token = _clean(environ.get("IMBRACE_ACCESS_TOKEN"))
    organization_id = _clean(organization_id) or _clean(environ.get("IMBRACE_ORGANIZATION_ID"))
    if organization_id is not None and not organization_id.startswith("org_"):
        raise ImbraceConfigurationError(
            "organization_id must be an Imbrace organisation id starting with 'org_' "
            f"(got {organization_id!r}); check organization_id= / IMBRACE_ORGANIZATION_ID."
        )
    config = ClientConfig(
        engine_url=url, api_key=api_key, access_token=access_token, organization_id=organization_id
    )
    if config.auth_mode == "none":
        warnings.warn(
            "ImbraceClient: no credentials provided. Pass api_key= (server-to-server) or "
            "access_token= (user login), or set IMBRACE_API_KEY / IMBRACE_ACCESS_TOKEN.",
            UserWarning,
            stacklevel=4,
        )
    return config


def _resolve_engine_url(
    *, env: str | None, gateway: str | None, engine_url: str | None, environ: Mapping[str, str]
) -> str:
    if _clean(engine_url):
        return _check_url(_clean(engine_url) or "", "engine_url")
    if _clean(gateway):
        return _check_url(_clean(gateway) or "", "gateway") + ENGINE_PREFIX
    if _clean(env):
        return _preset(_clean(env) or "", "env=") + ENGINE_PREFIX
    if _clean(environ.get("IMBRACE_GATEWAY_URL")):
        return (
            _check_url(_clean(environ.get("IMBRACE_GATEWAY_URL")) or "", "IMBRACE_GATEWAY_URL")
            + ENGINE_PREFIX
        )
    if _clean(environ.get("IMBRACE_ENV")):
        return _preset(_clean(environ.get("IMBRACE_ENV")) or "", "IMBRACE_ENV") + ENGINE_PREFIX
    return ENVIRONMENTS[DEFAULT_ENV] + ENGINE_PREFIX


def _preset(name: str, source: str) -> str:
    try:
        return ENVIRONMENTS[name.lower()]
    except KeyError:
        valid = ", ".join(sorted(ENVIRONMENTS))
        raise ImbraceConfigurationError(
            f"Unknown Imbrace environment {name!r} (from {source}); valid names are: {valid}. "
            "Or pass gateway='https://...' for any other gateway."
        ) from None


def _check_url(url: str, source: str) -> str:
    if not url.startswith(("http://", "https://")):
        raise ImbraceConfigurationError(
            f"{source} must be an http(s) URL such as 'https://app-gatewayv2.imbrace.co' (got {url!r})."
        )
    return url.rstrip("/")
