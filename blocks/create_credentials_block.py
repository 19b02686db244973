"""Save an `ImbraceCredentials` block from environment variables.

    IMBRACE_API_KEY=... uv run python blocks/create_credentials_block.py [NAME] [--test]

Reads `IMBRACE_API_KEY` (or `IMBRACE_ACCESS_TOKEN` + `IMBRACE_ORGANIZATION_ID`) and the
endpoint from `IMBRACE_ENV`, `IMBRACE_GATEWAY_URL` or `IMBRACE_ENGINE_URL`. The block (default
name `imbrace`, the name the example deployments load) keeps the secret encrypted in Prefect;
flows then use `ImbraceCredentials.load("imbrace")` and need no variables at run time.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping

from prefect_imbrace.credentials import ImbraceCredentials
from prefect_imbrace.exceptions import ImbraceConfigurationError

FIELDS = {
    "api_key": "IMBRACE_API_KEY",
    "access_token": "IMBRACE_ACCESS_TOKEN",
    "organization_id": "IMBRACE_ORGANIZATION_ID",
    "env": "IMBRACE_ENV",
    "gateway": "IMBRACE_GATEWAY_URL",
    "engine_url": "IMBRACE_ENGINE_URL",
    "ui_url": "IMBRACE_UI_URL",
}


def credentials_from_env(environ: Mapping[str, str] | None = None) -> ImbraceCredentials:
    """The block described by `IMBRACE_*` variables; raises if no credential is given."""
    environ = os.environ if environ is None else environ
    values = {field: environ[var] for field, var in FIELDS.items() if environ.get(var)}
    if "api_key" not in values and "access_token" not in values:
        raise ImbraceConfigurationError(
            "Set IMBRACE_API_KEY (or IMBRACE_ACCESS_TOKEN and IMBRACE_ORGANIZATION_ID) before "
            "saving an ImbraceCredentials block."
        )
    if "access_token" in values and "api_key" not in values and "organization_id" not in values:
        raise ImbraceConfigurationError(
            "IMBRACE_ACCESS_TOKEN needs IMBRACE_ORGANIZATION_ID (the org_... to act for)."
        )
    return ImbraceCredentials(**values)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("name", nargs="?", default="imbrace", help="block name (default: imbrace)")
    parser.add_argument("--test", action="store_true", help="check the credentials first")
    parser.add_argument("--no-overwrite", action="store_true", help="fail if the block exists")
    args = parser.parse_args(argv)
    try:
        credentials = credentials_from_env()
    except ImbraceConfigurationError as exc:
        parser.error(str(exc))
    if args.test:
        credentials.test_connection()
    document_id = credentials.save(args.name, overwrite=not args.no_overwrite)
    endpoint = credentials.engine_url or credentials.gateway or credentials.env or "stable"
    print(f"Saved ImbraceCredentials block {args.name!r} ({document_id}) for {endpoint}.")
    print(f'Load it with: ImbraceCredentials.load("{args.name}")')
    return 0


if __name__ == "__main__":
    sys.exit(main())
