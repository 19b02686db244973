"""Helpers shared by the example tests (a unique module name: tests/ has no packages)."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from prefect.utilities.templating import apply_values

FLOWS_DIR = Path(__file__).resolve().parents[2] / "flows"


def load_prefect_yaml(monkeypatch: pytest.MonkeyPatch, **variables: str) -> dict:
    """prefect.yaml as `prefect deploy` sees it, with the documented variables set."""
    for name in ("IMBRACE_FLOW_ID", "IMBRACE_UPSTREAM_FLOW_ID", "IMBRACE_NEXT_FLOW_ID",
                 "IMBRACE_ENRICH_FLOW_ID"):
        monkeypatch.setenv(name, variables.get(name, f"{name.lower()}_value"))
    raw = yaml.safe_load((FLOWS_DIR / "prefect.yaml").read_text())
    return apply_values(raw, os.environ, remove_notset=False)


def read_events(resource_id: str, name: str | None = None, want: int = 1) -> list[Any]:
    """Events about `resource_id` stored by Prefect (written asynchronously: bounded wait)."""
    from prefect.client.orchestration import get_client
    from prefect.events.filters import EventFilter, EventNameFilter, EventResourceFilter

    event_filter = EventFilter(
        resource=EventResourceFilter(id=[resource_id]),
        event=EventNameFilter(name=[name]) if name else None,
    )
    events: list[Any] = []
    with get_client(sync_client=True) as client:
        for _ in range(100):
            events = client.read_events(filter=event_filter, limit=50).events
            if len(events) >= want:
                break
            time.sleep(0.1)
    return events
