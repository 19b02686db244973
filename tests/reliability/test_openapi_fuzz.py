"""Schemathesis over Imbrace Local's OpenAPI document, sized by the reliability mode.

`tests/local/test_schemathesis.py` runs a few examples per operation on every run; long mode
here runs many more. The check is the same: no request may cause an unhandled error (the
engine's documented 500s are deliberate and counted apart by the server), and every error
answer is JSON in one of the engine's or gateway's shapes, never a traceback.
"""

from __future__ import annotations

import json

import httpx
import schemathesis
from hypothesis import HealthCheck, given, settings
from reliability_figures import record_fuzz
from reliability_support import mode

from prefect_imbrace.local import ImbraceLocal

SHAPES = ({"code", "params"}, {"statusCode", "error", "message"},
          {"statusCode", "code", "error", "message"})
PER_OPERATION = 25 if mode() == "long" else 2


def test_openapi_fuzz_causes_no_unhandled_error() -> None:
    with ImbraceLocal(sync_timeout=0.2) as engine:
        spec = httpx.get(engine.url + "/activepieces/openapi.json").json()
        schema = schemathesis.openapi.from_dict(spec)
        headers = {"x-api-key": engine.api_key}
        sent = 0
        for result in schema.get_all_operations():
            operation = result.ok()

            @settings(max_examples=PER_OPERATION, deadline=None, database=None,
                      suppress_health_check=list(HealthCheck))
            @given(case=operation.as_strategy())
            def fuzz(case: schemathesis.Case) -> None:
                nonlocal sent
                sent += 1
                response = case.call(base_url=engine.url, headers=headers, timeout=10)
                assert response.status_code != 422, response.text
                if response.status_code >= 400 and response.content:
                    body = json.loads(response.content)
                    if body:
                        assert set(body) in SHAPES or set(body) <= {"message"}, (case.path, response.text)

            fuzz()
        record_fuzz("Imbrace Local OpenAPI (schemathesis)", sent)
        assert engine.control.counters()["unhandled_errors"] == 0
