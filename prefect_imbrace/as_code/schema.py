"""The published JSON Schema of the files, generated from the pydantic models.

The committed copy is `prefect_imbrace/as_code/imbrace.schema.json` (a test checks it is
current); `export` also writes it next to the files, and each file names it in a
`# yaml-language-server: $schema=...` line so editors complete and check the YAML.
Regenerate with `prefect-imbrace schema prefect_imbrace/as_code/imbrace.schema.json`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .models import ImbraceFile

SCHEMA_FILE = "imbrace.schema.json"
PUBLISHED = Path(__file__).with_name(SCHEMA_FILE)


def schema_dict() -> dict[str, Any]:
    schema = ImbraceFile.model_json_schema()
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "Imbrace objects as code (prefect-imbrace)",
        **schema,
    }


def schema_text() -> str:
    return json.dumps(schema_dict(), indent=2, sort_keys=True) + "\n"


