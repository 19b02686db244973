"""Read-only HTML pages of Imbrace Local: one run (status, times, steps) and one flow (recent runs).

Why: Prefect artifacts and events link to a run, and a browser cannot authenticate to the
engine API (it needs an `x-api-key` header). These pages are what such a link opens. Each page
needs the token of its link (`page_links.page_token`, an HMAC under a credential of the run's
organisation): without it, or with the token of another page, the answer is 401 and says
nothing about whether the run exists. Pages never show credentials: sensitive request headers,
the organisation's API keys and access tokens, and its connection values are replaced by
`**REDACTED**` wherever they appear in a step's input, output or error.
"""

from __future__ import annotations

import hmac
import html
import json
from typing import Any

from ...step_errors import error_text
from ..page_links import page_token, page_url
from ..store import Store
from .common import parse_iso_ms
from .flows import Flows
from .tenancy import Tenancy

REDACTED = "**REDACTED**"
SENSITIVE_HEADERS = frozenset({"x-access-token", "x-api-key", "authorization", "proxy-authorization", "cookie"})
MAX_VALUE_CHARS = 2000
RECENT_RUNS = 50
_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem;color:#1f2330;max-width:70rem}
h1{font-size:1.4rem;margin-bottom:.2rem}.sub{color:#5b6170;margin-top:0}
table{border-collapse:collapse;width:100%;margin-top:1rem}
th,td{border:1px solid #d6d9e0;padding:.35rem .5rem;text-align:left;vertical-align:top;font-size:.9rem}
th{background:#f1f3f7}pre{margin:0;white-space:pre-wrap;word-break:break-word;font-size:.8rem;max-height:16rem;overflow:auto}
.status{font-weight:600;padding:.1rem .45rem;border-radius:.3rem;background:#eceef3}
.SUCCEEDED{background:#d9f2df;color:#17662f}.FAILED,.TIMEOUT,.INTERNAL_ERROR{background:#fadada;color:#8a1c1c}
.RUNNING,.QUEUED,.PAUSED{background:#e2e8fb;color:#213f99}dl{display:grid;grid-template-columns:9rem 1fr;gap:.2rem .8rem}
dt{color:#5b6170}footer{margin-top:2rem;color:#8a8f9c;font-size:.8rem}
"""


class PageDenied(Exception):
    """No valid token for the page asked for (401, whatever the reason)."""


class Pages:
    def __init__(self, store: Store, tenancy: Tenancy, flows: Flows):
        self.store = store
        self.tenancy = tenancy
        self.flows = flows

    # -- who may read ---------------------------------------------------------------------------
    def _credentials(self, project_id: str) -> list[str]:
        """API keys and access tokens of the organisation owning `project_id`."""
        project = self.store.get("project", project_id)
        org = project.get("externalId") if project else None
        if not org:
            return []
        keys = [k for k, o in self.tenancy.api_keys.items() if o == org]
        return keys + [t for t, o in self.tenancy.access_tokens.items() if o == org]

    def _signer(self, kind: str, entity: dict[str, Any] | None, token: str | None) -> str:
        """The credential whose token for this page is `token`; PageDenied otherwise."""
        if entity is None or not token:
            raise PageDenied
        for credential in self._credentials(entity["projectId"]):
            if hmac.compare_digest(page_token(credential, kind, entity["id"]).encode(), token.encode()):
                return credential
        raise PageDenied

    def _secrets(self, project_id: str) -> list[str]:
        found = list(self._credentials(project_id))
        for conn in self.store.all("connection"):
            if project_id in conn.get("projectIds", []):
                found.extend(_strings(conn.get("_value")))
        return sorted({s for s in found if len(s) >= 4}, key=len, reverse=True)

    # -- pages ------------------------------------------------------------------------------------
    def run_page(self, run_id: str, token: str | None, base: str) -> str:
        run = self.store.get("run", run_id)
        credential = self._signer("runs", run, token)
        assert run is not None
        secrets = self._secrets(run["projectId"])
        flow = self.flows.find(run["flowId"])
        name = (run.get("flowVersion") or {}).get("displayName") or "Imbrace flow"
        flow_link = (
            f'<a href="{_e(page_url(base, credential, "flows", flow["id"]))}">{_e(name)}</a>'
            if flow is not None else _e(name)
        )
        failed = (run.get("failedStep") or {}).get("name")
        facts = [
            ("Status", f'<span class="status {_e(run["status"])}">{_e(run["status"])}</span>'),
            ("Imbrace flow", f"{flow_link} <code>{_e(run['flowId'])}</code>"),
            ("Created", _e(run.get("created"))),
            ("Started", _e(run.get("startTime") or "-")),
            ("Finished", _e(run.get("finishTime") or "-")),
            ("Duration", _e(_duration(run))),
            ("Failed step", _e(failed or "-")),
            ("Project", f"<code>{_e(run['projectId'])}</code>"),
        ]
        rows = []
        for step_name, step in (run.get("_steps") or {}).items():
            status = step.get("status") or "-"
            ms = step.get("duration")
            rows.append(
                "<tr>"
                f"<td>{_e(step_name)}</td><td><span class=\"status {_e(status)}\">{_e(status)}</span></td>"
                f"<td>{'-' if ms is None else f'{float(ms):.0f} ms'}</td>"
                f"<td><pre>{_e(_shown(step.get('output'), secrets))}</pre></td>"
                f"<td>{_error_cell(step.get('errorMessage'), secrets)}</td>"
                "</tr>"
            )
        steps = (
            "<table><thead><tr><th>Step</th><th>Status</th><th>Duration</th><th>Output</th>"
            "<th>Error</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>"
            if rows else "<p>No steps recorded yet (the engine records them when a run pauses or ends).</p>"
        )
        return _document(
            f"Imbrace run {run_id}",
            f"<h1>Imbrace run <code>{_e(run_id)}</code></h1><p class=\"sub\">{_e(name)}</p>"
            + _facts(facts) + "<h2>Steps</h2>" + steps,
        )

    def flow_page(self, flow_id: str, token: str | None, base: str) -> str:
        flow = self.flows.find(flow_id)
        credential = self._signer("flows", flow, token)
        assert flow is not None
        latest = self.flows.latest(flow)
        name = latest.get("displayName") or "Imbrace flow"
        runs = sorted(
            (r for r in self.store.all("run") if r["flowId"] == flow_id and r.get("environment") == "PRODUCTION"),
            key=lambda r: r.get("_createdMs") or 0, reverse=True,
        )
        rows = [
            "<tr>"
            f"<td><a href=\"{_e(page_url(base, credential, 'runs', r['id']))}\"><code>{_e(r['id'])}</code></a></td>"
            f"<td><span class=\"status {_e(r['status'])}\">{_e(r['status'])}</span></td>"
            f"<td>{_e(r.get('created'))}</td><td>{_e(_duration(r))}</td></tr>"
            for r in runs[:RECENT_RUNS]
        ]
        facts = [
            ("Status", _e(flow.get("status"))),
            ("Published", "yes" if flow.get("publishedVersionId") else "no"),
            ("Steps", _e(", ".join(_step_names(latest.get("trigger"))) or "-")),
            ("Runs", f"{len(runs)} (latest {min(len(runs), RECENT_RUNS)} below)"),
            ("Project", f"<code>{_e(flow['projectId'])}</code>"),
        ]
        table = (
            "<table><thead><tr><th>Run</th><th>Status</th><th>Created</th><th>Duration</th></tr></thead><tbody>"
            + "".join(rows) + "</tbody></table>"
        )
        return _document(
            f"Imbrace flow {name}",
            f"<h1>{_e(name)}</h1><p class=\"sub\">Imbrace flow <code>{_e(flow_id)}</code></p>"
            + _facts(facts) + "<h2>Runs</h2>" + table,
        )


def denied_page() -> str:
    return _document(
        "Not authorised",
        "<h1>Not authorised</h1><p>This page needs the link it was shared with (its token is "
        "missing or does not match this run or flow).</p>",
    )


# -- helpers ----------------------------------------------------------------------------------------
def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _document(title: str, body: str) -> str:
    return (
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
        f"<title>{_e(title)} · Imbrace Local</title><style>{_CSS}</style></head><body>{body}"
        "<footer>Imbrace Local · read-only page · credentials are never shown</footer></body></html>"
    )


def _facts(facts: list[tuple[str, str]]) -> str:
    return "<dl>" + "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in facts) + "</dl>"


def _duration(run: dict[str, Any]) -> str:
    start, finish = run.get("startTime"), run.get("finishTime")
    a = parse_iso_ms(start) if start else None
    b = parse_iso_ms(finish) if finish else None
    return "-" if a is None or b is None else f"{(b - a) / 1000:.2f} s"


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def _redacted(value: Any, secrets: list[str]) -> Any:
    if isinstance(value, dict):
        return {
            k: REDACTED if str(k).lower() in SENSITIVE_HEADERS else _redacted(v, secrets)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_redacted(v, secrets) for v in value]
    if isinstance(value, str):
        for secret in secrets:
            value = value.replace(secret, REDACTED)
    return value


def _error_cell(value: Any, secrets: list[str]) -> str:
    """A step's error as one readable line, the engine's full text (JSON, stack) folded below."""
    full = _shown(value, secrets)
    if not full:
        return ""
    line = error_text(_redacted(value, secrets)) or full
    if line == full:
        return f"<pre>{_e(full)}</pre>"
    return f"<pre>{_e(line)}</pre><details><summary>as stored</summary><pre>{_e(full)}</pre></details>"


def _shown(value: Any, secrets: list[str]) -> str:
    """A step's output or error as text: credentials redacted, at most MAX_VALUE_CHARS."""
    if value is None or value == {} or value == "":
        return ""
    clean = _redacted(value, secrets)
    text = clean if isinstance(clean, str) else json.dumps(clean, indent=2, ensure_ascii=False, default=str)
    return text if len(text) <= MAX_VALUE_CHARS else text[:MAX_VALUE_CHARS] + " …"


def _step_names(step: Any) -> list[str]:
    """Step names of a flow version in order (trigger first, then each next action)."""
    names: list[str] = []
    while isinstance(step, dict) and len(names) < 100:
        names.append(str(step.get("name")))
        step = step.get("nextAction")
    return names
