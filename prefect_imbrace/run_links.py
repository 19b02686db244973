"""Where a link to an Imbrace run points, and what of a run's data may be shown in Prefect.

Links (first that applies):

1. `ui_url` (the block field, else `PREFECT_INTEGRATIONS_IMBRACE_UI_URL` / `IMBRACE_UI_URL`):
   formatted with `{run_id}`, `{flow_id}`, `{project_id}` when it has placeholders, else
   `{ui_url}/projects/{project_id}/runs/{run_id}` (the Activepieces UI route);
2. Imbrace Local (it answers `GET {gateway}/_local/ui` as `imbrace-local`; asked once per
   gateway and process, without credentials): its read-only run page, with a token signed for
   that run only (`prefect_imbrace.local.page_links`);
3. otherwise no link: artifacts show the run id. The engine API URL is never used as a link,
   since a browser cannot authenticate to it (it answered 401 to everyone who clicked).

Shown values (results, payloads, step errors) go through `redact`: the block's own API key and
access token, and the values of keys that name a secret, become `**REDACTED**`.
"""

from __future__ import annotations

import json
import os
import re
import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from prefect_imbrace.credentials import ImbraceCredentials

__all__ = ["REDACTED", "is_imbrace_local", "known_page_link", "page_link", "redact", "shown", "ui_link"]

REDACTED = "**REDACTED**"
PROBE_TIMEOUT_S = 2.0
_SECRET_KEY = re.compile(r"(api[-_]?key|access[-_]?token|authorization|password|secret|cookie|^token$)", re.I)
_PRESETS = {
    "develop": "https://app-gateway.dev.imbrace.co",
    "sandbox": "https://app-gateway.sandbox.imbrace.co",
    "stable": "https://app-gatewayv2.imbrace.co",
    "prodv2": "https://app-gatewayv2.imbrace.co",
}
_local_gateways: dict[str, bool] = {}
_probe_lock = threading.Lock()
_probing: set[str] = set()


def _kwargs(credentials: ImbraceCredentials) -> dict[str, Any]:
    from prefect_imbrace.exactly_once.clients import client_kwargs_of

    return client_kwargs_of(credentials)


def gateway_of(credentials: ImbraceCredentials, kwargs: dict[str, Any] | None = None) -> str:
    """The gateway URL the credentials talk to (engine URL minus `/activepieces`).

    `kwargs`: the credentials' client kwargs when the caller has them already (they cost a
    look at the environment each time they are worked out).
    """
    kwargs = kwargs if kwargs is not None else _kwargs(credentials)
    if kwargs.get("engine_url"):
        engine = str(kwargs["engine_url"]).rstrip("/")
        return engine[: -len("/activepieces")] if engine.endswith("/activepieces") else engine
    gateway = kwargs.get("gateway") or os.environ.get("IMBRACE_GATEWAY_URL")
    if not gateway:
        env = (kwargs.get("env") or os.environ.get("IMBRACE_ENV") or "stable").lower()
        gateway = _PRESETS.get(env, _PRESETS["stable"])
    return gateway.rstrip("/")


def is_imbrace_local(gateway: str) -> bool:
    """Whether `gateway` is Imbrace Local: one unauthenticated GET, cached per process."""
    found = _local_gateways.get(gateway)
    if found is not None:
        return found
    with _probe_lock:
        found = _local_gateways.get(gateway)
        if found is None:
            found = _probe(gateway)
            _local_gateways[gateway] = found
    return found


def _probe(gateway: str) -> bool:
    import httpx

    from prefect_imbrace.local.page_links import PAGES_PATH, SERVICE

    try:
        answer = httpx.get(gateway + PAGES_PATH, timeout=PROBE_TIMEOUT_S, follow_redirects=False)
        return answer.status_code == 200 and answer.json().get("service") == SERVICE
    except Exception:  # not Local, or not reachable now: no page links (never an API URL)
        return False


def ui_link(credentials: ImbraceCredentials, run_id: str, flow_id: str | None, project_id: str | None) -> str | None:
    """The run's link from `ui_url`, or None when no UI URL is configured."""
    from prefect_imbrace.exactly_once.clients import cached_setting

    ui = credentials.ui_url or cached_setting("ui_url")
    if not ui:
        return None
    ui = ui.rstrip("/")
    fields = {"run_id": run_id, "flow_id": flow_id or "", "project_id": project_id or ""}
    if "{" in ui:
        return ui.format(**fields)
    return f"{ui}/projects/{fields['project_id']}/runs/{run_id}"


def page_link(credentials: ImbraceCredentials, kind: str, entity_id: str,
              kwargs: dict[str, Any] | None = None) -> str | None:
    """Imbrace Local's read-only page of a run or flow (signed for it), or None elsewhere."""
    kwargs = kwargs if kwargs is not None else _kwargs(credentials)
    credential = kwargs.get("api_key") or kwargs.get("access_token")
    if not credential:
        return None
    gateway = gateway_of(credentials, kwargs)
    if not is_imbrace_local(gateway):
        return None
    from prefect_imbrace.local.page_links import page_url

    return page_url(gateway, credential, kind, entity_id)


def known_page_link(credentials: ImbraceCredentials, kind: str, entity_id: str,
                    kwargs: dict[str, Any] | None = None) -> str | None:
    """`page_link` without waiting: None while the gateway is not known yet, then probed in
    the background, so code on an event loop (the event hook) never blocks on the network."""
    kwargs = kwargs if kwargs is not None else _kwargs(credentials)
    gateway = gateway_of(credentials, kwargs)
    known = _local_gateways.get(gateway)
    if known is None:
        with _probe_lock:
            start = gateway not in _probing
            _probing.add(gateway)
        if start:  # one background probe per gateway, however many events arrive meanwhile
            threading.Thread(target=is_imbrace_local, args=(gateway,), name="imbrace-ui-probe", daemon=True).start()
        return None
    return page_link(credentials, kind, entity_id, kwargs) if known else None


def _credential_values(credentials: ImbraceCredentials | None) -> list[str]:
    if credentials is None:
        return []
    kwargs = _kwargs(credentials)
    return [v for v in (kwargs.get("api_key"), kwargs.get("access_token")) if v and len(v) >= 4]


def redact(value: Any, credentials: ImbraceCredentials | None = None) -> Any:
    """A copy of `value` with credentials and values of secret-named keys replaced."""
    secrets = _credential_values(credentials)

    def walk(item: Any) -> Any:
        if isinstance(item, dict):
            return {k: REDACTED if _SECRET_KEY.search(str(k)) else walk(v) for k, v in item.items()}
        if isinstance(item, (list, tuple)):
            return [walk(v) for v in item]
        if isinstance(item, str):
            for secret in secrets:
                item = item.replace(secret, REDACTED)
        return item

    return walk(value)


def shown(value: Any, credentials: ImbraceCredentials | None = None, limit: int = 120) -> str:
    """`value` as compact JSON text, redacted, cut to `limit` characters ("…" marks a cut)."""
    if value is None:
        return ""
    clean = redact(value, credentials)
    text = clean if isinstance(clean, str) else json.dumps(clean, ensure_ascii=False, default=str, separators=(", ", ": "))
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
