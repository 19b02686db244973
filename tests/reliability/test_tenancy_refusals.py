"""Every Imbrace Local route refuses strangers exactly as the gateway and engine do.

Routes come from Local's own OpenAPI document, so a new route is covered without editing
this file. Three kinds of stranger: no credentials, wrong credentials, and another
organisation holding valid credentials and organisation A's object ids. For the last, the
engine's rule (transcript #48-#51) is that a foreign id is answered exactly like an id that
does not exist at all, so nothing tells B that A's object exists; A's objects stay unchanged.
(Some such answers are 2xx, e.g. `GET /users/projects/{id}` shows the caller's own project
whatever the id: still identical for a foreign and a missing id, and nothing of A in it.)
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from imbrace_flows import ImbraceFlows
from reliability_figures import record_tenancy

from prefect_imbrace.client import ImbraceClient
from prefect_imbrace.local import ImbraceLocal

A_KEY, B_KEY = "sk-rel-tenant-A-0123456789abcdef", "sk-rel-tenant-B-fedcba9876543210"
A_TOKEN, JWT = "acc-rel-tenant-A-token", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJyZWwifQ.c2lnbmF0dXJl"
ORG_A, ORG_B = "org_rel_a", "org_rel_b"
MISSING = "AAAAAAAAAAAAAAAAAAAAA"
NO_CREDENTIALS = {"message": "Unauthorized - API key or Access Token required"}
NOT_TENANT_SCOPED = ("/pieces/{name}",)
BODIES = {  # plausible bodies, so a refusal is about the id and not a malformed request
    "/flows/{id}": {"type": "CHANGE_STATUS", "request": {"status": "DISABLED"}},
    "/folders/{id}": {"displayName": "taken over"},
    "/mcp-servers/{id}": {"name": "taken over"},
    "/tables/{id}": {"name": "taken over"},
    "/fields/{id}": {"name": "taken over"},
    "/records/{id}": {"tableId": "{table}", "cells": []},
    "/app-connections/{id}": {"displayName": "taken over"},
    "/flow-runs/{id}/retry": {"strategy": "FROM_FAILED_STEP"},
}


class World:
    def __init__(self, engine: ImbraceLocal, ids: dict[str, str], routes: list[tuple[str, str]]):
        self.engine, self.ids, self.routes = engine, ids, routes

    def url(self, template: str, ids: dict[str, str] | None = None) -> str:
        ids = ids or self.ids
        path = template.replace("{flowId}", ids["flow"]).replace("{requestId}", MISSING)
        family = re.match(r"/activepieces/v1/([a-z-]+(?:/projects)?)", template).group(1)
        return self.engine.url + path.replace("{id}", ids.get(family, MISSING))

    def body(self, template: str, ids: dict[str, str] | None = None) -> Any:
        short = template.removeprefix("/activepieces/v1")
        body = BODIES.get(short, {})
        if isinstance(body, dict) and "tableId" in body:
            body = {**body, "tableId": (ids or self.ids)["tables"]}
        return body

    def call(self, method: str, template: str, headers: dict[str, str], ids: dict[str, str] | None = None) -> httpx.Response:
        kwargs: dict[str, Any] = {"headers": headers, "timeout": 30}
        if method in ("post", "put", "patch"):
            kwargs["json"] = self.body(template, ids)
        return httpx.request(method.upper(), self.url(template, ids), **kwargs)


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    with ImbraceLocal(api_keys={A_KEY: ORG_A, B_KEY: ORG_B}, access_tokens={A_TOKEN: ORG_A},
                      bearer_tokens={JWT: [ORG_A]}, sync_timeout=1) as engine:
        with ImbraceClient(api_key=A_KEY, gateway=engine.url) as a:
            wf = a.workflows
            flow_id = ImbraceFlows(a).echo("A's flow")
            wf.trigger_flow(flow_id=flow_id, payload={"secret": "A's payload"})
            for _ in range(100):
                runs = wf.list_runs(flow_id=flow_id).data
                if runs:
                    break
                time.sleep(0.05)
            table = wf.create_table(name="A's table")
            field = wf.create_field(table_id=table.id, name="f")
            record = wf.create_records(table_id=table.id, records=[{field.id: "A's cell"}])
            ids = {
                "flows": flow_id, "flow": flow_id, "flow-runs": runs[0].id,
                "folders": wf.create_folder(display_name="A's folder").id,
                "app-connections": wf.upsert_connection(body={
                    "externalId": "a-conn", "displayName": "A's connection",
                    "pieceName": "@activepieces/piece-http", "type": "SECRET_TEXT",
                    "value": {"type": "SECRET_TEXT", "secret_text": "A's secret"}}).id,
                "mcp-servers": wf.create_mcp_server(name="A's mcp").id,
                "tables": table.id, "fields": field.id,
                "records": (record[0] if isinstance(record, list) else record.data[0]).id,
                "users/projects": wf.resolve_project_id(),
            }
        spec = httpx.get(engine.url + "/activepieces/openapi.json").json()
        routes = [(method, path) for path, ops in spec["paths"].items() for method in ops]
        yield World(engine, ids, routes)


def _masked(text: str, ids: Any) -> str:
    for value in ids:
        text = text.replace(value, "?")
    return re.sub(r'"(request_id|requestId)":"[^"]*"', "", text)


def _is_webhook(path: str) -> bool:
    """Capability URLs, unauthenticated in the engine by design: flow webhooks and the resume
    links of paused runs (`/flow-runs/{id}/requests/{requestId}`); whoever holds one may use it."""
    return "/webhooks/" in path or "/requests/" in path


def test_every_route_refuses_a_caller_without_credentials(world):
    answers = [(m, p, world.call(m, p, {})) for m, p in world.routes]
    wrong = [(m, p, r.status_code, r.text) for m, p, r in answers
             if r.status_code != 401 or r.json() != NO_CREDENTIALS]
    record_tenancy("no credentials", len(answers), len(answers) - len(wrong))
    assert len(answers) > 60 and wrong == []


def test_every_route_refuses_a_wrong_api_key(world):
    answers = [(m, p, world.call(m, p, {"x-api-key": "sk-not-a-key"})) for m, p in world.routes]
    wrong = []
    for m, p, r in answers:
        body = r.json() if r.status_code == 401 else {}
        if r.status_code != 401 or set(body) != {"error", "message", "request_id"} or (
            body["error"], body["message"]) != ("Unauthorized", "Invalid API key"):
            wrong.append((m, p, r.status_code, r.text))
    record_tenancy("wrong API key", len(answers), len(answers) - len(wrong))
    assert wrong == []


@pytest.mark.parametrize(
    "headers, status, body",
    [
        ({"x-access-token": "acc-not-a-token"}, 401, {"message": "Unauthorized"}),
        ({"authorization": "Bearer not.a.jwt", "x-organization-id": ORG_A}, 401,
         {"message": "Unauthorized - Invalid JWT"}),
        ({"authorization": f"Bearer {JWT}", "x-organization-id": ORG_B}, 400,
         {"message": "Bad Request - organization_id not found in user organizations"}),
    ],
    ids=["wrong access token", "invalid JWT", "JWT of another organisation"],
)
def test_every_non_webhook_route_refuses_wrong_tokens(world, headers, status, body):
    routes = [(m, p) for m, p in world.routes if not _is_webhook(p)]
    answers = [(m, p, world.call(m, p, headers)) for m, p in routes]
    wrong = [(m, p, r.status_code, r.text) for m, p, r in answers
             if r.status_code != status or r.json() != body]
    record_tenancy(" ".join(f"{k}" for k in headers) + f" -> {status}", len(answers),
                   len(answers) - len(wrong))
    assert wrong == []


def test_another_organisation_sees_a_foreign_id_as_a_missing_one(world):
    b = {"x-api-key": B_KEY}
    missing = {k: MISSING for k in world.ids}
    checked, wrong = 0, []
    for method, path in world.routes:
        if "{" not in path or _is_webhook(path) or path.endswith(NOT_TENANT_SCOPED):
            continue
        foreign = world.call(method, path, b)
        absent = world.call(method, path, b, ids=missing)
        checked += 1
        same = (foreign.status_code == absent.status_code
                and _masked(foreign.text, [*world.ids.values(), MISSING])
                == _masked(absent.text, [MISSING]))
        sent = world.url(path)
        reveals = "A's" in foreign.text or any(
            value in foreign.text for value in world.ids.values() if value not in sent)
        if reveals or not same:
            wrong.append((method, path, foreign.status_code, foreign.text[:200], absent.status_code,
                          absent.text[:200]))
    record_tenancy("another organisation's ids", checked, checked - len(wrong))
    assert checked > 20 and wrong == [], "\n".join(map(str, wrong))


def test_transcript_tenancy_exchanges(world):
    """#48-#51 and #60 of the engine transcript, through the gateway."""
    b = {"x-api-key": B_KEY}
    v1 = world.engine.url + "/activepieces/v1"
    flow, run, project = world.ids["flows"], world.ids["flow-runs"], world.ids["users/projects"]
    got = [
        httpx.get(f"{v1}/flows/{flow}", headers=b),
        httpx.get(f"{v1}/flow-runs/{run}", headers=b),
        httpx.get(f"{v1}/flow-runs", params={"flowId": flow}, headers=b),
        httpx.post(f"{v1}/flows/{flow}", headers=b, json=BODIES["/flows/{id}"]),
        httpx.get(f"{v1}/flows", params={"projectId": project}, headers=b),
    ]
    expected = [
        (404, {"code": "ENTITY_NOT_FOUND", "params": {}}),
        (400, {"code": "FLOW_RUN_NOT_FOUND", "params": {"id": run}}),
        (200, {"data": [], "next": None, "previous": None}),
        (404, {"code": "ENTITY_NOT_FOUND", "params": {}}),
        (403, {"code": "AUTHORIZATION", "params": {"message": "invalid project id"}}),
    ]
    record_tenancy("transcript #48-#51, #60", len(got),
                   sum((r.status_code, r.json()) == e for r, e in zip(got, expected, strict=True)))
    assert [(r.status_code, r.json()) for r in got] == expected


def test_organisation_a_objects_survive_every_attempt(world):
    """Runs after the attempts above (module order): nothing of A was changed or deleted."""
    a = {"x-api-key": A_KEY}
    v1 = world.engine.url + "/activepieces/v1"
    ids = world.ids
    flow = httpx.get(f"{v1}/flows/{ids['flows']}", headers=a).json()
    assert flow["status"] == "ENABLED"
    for family in ("folders", "app-connections", "mcp-servers", "tables", "fields", "records"):
        response = httpx.get(f"{v1}/{family}/{ids[family]}", headers=a)
        assert response.status_code == 200, (family, response.text)
        assert "taken over" not in response.text
    assert httpx.get(f"{v1}/flow-runs/{ids['flow-runs']}", headers=a).status_code == 200
