"""The served OpenAPI 3.1 document, built from the same schemas the routes validate with."""

from __future__ import annotations

import re
from typing import Any

from .routes._common import SPEC

_PATH_CONVERTER = re.compile(r"\{(\w+):\w+\}")


def build_openapi() -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for route in SPEC:
        if route["method"] in ("head", "options"):
            continue
        path = _PATH_CONVERTER.sub(r"{\1}", route["path"])
        parameters = [
            {"name": name, "in": "path", "required": True, "schema": schema}
            for name, schema in route["params"].items()
        ]
        for name, schema in (route["query"] or {}).items():
            param: dict[str, Any] = {"name": name, "in": "query", "required": False, "schema": schema}
            if schema.get("type") == "array":
                param.update(style="form", explode=True)
            parameters.append(param)
        operation: dict[str, Any] = {
            "summary": route["summary"],
            "operationId": f"{route['method']}_{re.sub(r'[^0-9a-zA-Z]+', '_', path).strip('_')}",
            "parameters": parameters,
            "responses": {
                str(route["ok"]): {"description": "success"},
                "default": {"description": "engine error `{code, params}` or framework error `{statusCode, error, message}`"},
            },
        }
        if route["body"] is not None:
            operation["requestBody"] = {
                "required": True, "content": {"application/json": {"schema": route["body"]}},
            }
        paths.setdefault(path, {})[route["method"]] = operation
    return {
        "openapi": "3.1.0",
        "info": {"title": "Imbrace Local (Activepieces 0.72.4 behind the Imbrace gateway)", "version": "0.72.4"},
        "servers": [{"url": "/"}],
        "components": {"securitySchemes": {"apiKey": {"type": "apiKey", "in": "header", "name": "x-api-key"}}},
        "security": [{"apiKey": []}],
        "paths": paths,
    }
