"""`prefect deploy` steps: ship the Imbrace flows with the Prefect flows that trigger them.

In `prefect.yaml`::

    build:
      - prefect_imbrace.deployments.steps.apply_imbrace_flows:
          id: imbrace
          directory: imbrace            # the YAML files, relative to prefect.yaml
          credentials_block: imbrace    # an ImbraceCredentials block (default: IMBRACE_* variables)

The step applies the files (idempotent: a second deploy changes nothing) before the deployments
are registered, and fails `prefect deploy` if any object failed (each was rolled back). Its
output `flow_ids` maps each flow key to its id in this project (`{{ imbrace.flow_ids }}`); the
Prefect flows can also find the id at run time with `find_imbrace_flow_id(client, key=...)`.
"""

from __future__ import annotations

from typing import Any, cast

from prefect_imbrace.as_code.tasks import ImbraceApplyFailed, apply_directory
from prefect_imbrace.client import ImbraceClient

__all__ = ["apply_imbrace_flows"]


def apply_imbrace_flows(
    directory: str, credentials_block: str | None = None, prune: bool = False
) -> dict[str, Any]:
    """Apply the Imbrace files in `directory`; returns `{"flow_ids": {key: id}, "summary": text}`."""
    if credentials_block:
        from prefect_imbrace.credentials import ImbraceCredentials

        client = cast(ImbraceCredentials, ImbraceCredentials.load(credentials_block)).get_client()
    else:
        client = ImbraceClient()
    with client:
        result = apply_directory(client, directory, prune=prune)
    summary = result.summary()
    print(summary)
    if not result.ok:
        raise ImbraceApplyFailed(summary)
    return {"flow_ids": result.flow_ids, "summary": summary}
