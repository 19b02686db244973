"""The Prefect side of an Imbrace flow kept as code: trigger it by its key, not by its id.

`prefect deploy` (see prefect.yaml here) first applies the Imbrace files in `imbrace/` with the
`prefect_imbrace.deployments.steps.apply_imbrace_flows` step, then registers this deployment.
The Imbrace flow's id differs between projects (staging, production); the key in its files does
not, so the flow looks the id up when it runs:

    uv run python flows/imbrace_as_code/trigger_order_intake.py   # applies and runs on Imbrace Local
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from prefect import flow

from prefect_imbrace import find_imbrace_flow_id
from prefect_imbrace.credentials import ImbraceCredentials
from prefect_imbrace.tasks import trigger_flow_and_wait

FILES = Path(__file__).with_name("imbrace")


@flow(name="trigger-order-intake")
def trigger_order_intake(
    order: dict[str, Any], key: str = "order-intake", credentials_block: str | None = None
) -> dict[str, Any]:
    """Run the Imbrace flow declared with `key` once for `order`, and return its outcome."""
    credentials = ImbraceCredentials.load(credentials_block) if credentials_block else ImbraceCredentials()
    with credentials.get_client() as client:
        flow_id = find_imbrace_flow_id(client, key=key)
    result = trigger_flow_and_wait(imbrace_credentials=credentials, flow_id=flow_id, payload=order)
    return {"flow_id": flow_id, "run_id": result.run_id, "status": result.status}


def main() -> int:
    """On Imbrace Local: apply the files, then run the Prefect flow once (temporary Prefect API
    unless PREFECT_API_URL is set)."""
    from prefect.settings import (
        PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS,
        temporary_settings,
    )

    from prefect_imbrace.as_code import apply_declared, load_directory
    from prefect_imbrace.local import ImbraceLocal

    with ImbraceLocal() as engine, temporary_settings({PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS: 180}):
        credentials = ImbraceCredentials(api_key=engine.api_key, gateway=engine.url)
        with credentials.get_client() as client:
            print(apply_declared(client, load_directory(FILES)).summary())
        credentials.save("imbrace-local-as-code", overwrite=True)
        order = {"id": "A-1", "total": 250, "lines": [1, 2]}
        print(trigger_order_intake(order, credentials_block="imbrace-local-as-code"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
