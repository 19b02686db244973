"""Property-based fuzzing of the served OpenAPI document: no request may cause an unhandled error.

Deliberate 500s exist (a malformed cursor, enabling a never-published flow, unknown MCP ids, as on
the real engine), so the check is the server's own count of *unhandled* exceptions plus the rule
that every answer is JSON in one of the engine's shapes (never a traceback or FastAPI's 422).
"""

from __future__ import annotations

import json

import schemathesis
from hypothesis import HealthCheck, given, settings

from prefect_imbrace.local import ImbraceLocal

SHAPES = ({"code", "params"}, {"statusCode", "error", "message"}, {"statusCode", "code", "error", "message"})


def test_no_unhandled_errors_under_fuzzing() -> None:
    with ImbraceLocal(sync_timeout=0.5) as engine:
        import httpx

        spec = httpx.get(engine.url + "/activepieces/openapi.json").json()
        schema = schemathesis.openapi.from_dict(spec)
        headers = {"x-api-key": engine.api_key}
        checked = 0
        for result in schema.get_all_operations():
            operation = result.ok()

            @settings(max_examples=5, deadline=None, database=None, derandomize=True,
                      suppress_health_check=list(HealthCheck))
            @given(case=operation.as_strategy())
            def fuzz(case: schemathesis.Case) -> None:
                response = case.call(base_url=engine.url, headers=headers, timeout=10)
                assert response.status_code != 422, response.text
                if response.status_code >= 400 and response.content:
                    body = json.loads(response.content)
                    if body:  # webhooks answer `{}` for 404/410
                        assert set(body) in SHAPES or set(body) <= {"message"}, (case.path, response.text)

            fuzz()
            checked += 1
        assert checked > 40
        assert engine.control.counters()["unhandled_errors"] == 0
