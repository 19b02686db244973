"""Shared pieces of the reliability suite: known secrets, flow builders and the run ledger.

The ledger counts Imbrace runs per correlation key with plain httpx against the engine's wire
format, not with `prefect_imbrace.client`: the oracle must not share code with what it checks.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable
from typing import Any

import httpx

KEY_HEADER = "x-prefect-imbrace-key"

API_KEY = "sk-rel-5ecret-ApiKey-7d1e0c9b5a4f3e2d1c0b"
ACCESS_TOKEN = "acc-rel-5ecret-AccessToken-93a7b1c2d3e4f5a6"
CONNECTION_SECRET = "conn-rel-5ecret-Value-0f9e8d7c6b5a4938"
SECRETS = (API_KEY, ACCESS_TOKEN, CONNECTION_SECRET)
"""Known secret values: none may appear in anything Prefect stores or shows."""

TERMINAL = {"SUCCEEDED", "FAILED", "TIMEOUT", "INTERNAL_ERROR", "CANCELED", "QUOTA_EXCEEDED",
            "MEMORY_LIMIT_EXCEEDED"}


def mode() -> str:
    """`long` or `short` (set by conftest from IMBRACE_RELIABILITY_MODE or `-m long`)."""
    return "long" if os.environ.get("IMBRACE_RELIABILITY_MODE", "").lower() == "long" else "short"


def per_fault(short: int = 5, long: int = 70) -> int:
    """Logical triggers per fault scenario in the current mode."""
    return long if mode() == "long" else short


class Ledger:
    """What the engine really holds: runs per correlation key, read over plain HTTP."""

    def __init__(self, engine_url: str, api_key: str):
        self.http = httpx.Client(base_url=engine_url + "/v1", headers={"x-api-key": api_key},
                                 timeout=30)

    def close(self) -> None:
        self.http.close()

    def runs(self, flow_id: str) -> list[dict[str, Any]]:
        runs: list[dict[str, Any]] = []
        cursor = None
        for _ in range(200):
            params = {"flowId": flow_id, "limit": 100, **({"cursor": cursor} if cursor else {})}
            page = self.http.get("/flow-runs", params=params)
            page.raise_for_status()
            body = page.json()
            runs.extend(body["data"])
            cursor = body.get("next")
            if not cursor:
                return runs
        raise AssertionError("more than 20,000 runs: the ledger gave up")

    def run(self, run_id: str) -> dict[str, Any]:
        response = self.http.get(f"/flow-runs/{run_id}")
        response.raise_for_status()
        return response.json()

    def keys(self, flow_ids: Iterable[str]) -> Counter[str | None]:
        """Correlation key -> number of runs carrying it, over all runs of `flow_ids`."""
        counts: Counter[str | None] = Counter()
        for flow_id in flow_ids:
            for run in self.runs(flow_id):
                headers = ((self.run(run["id"]).get("steps") or {}).get("trigger") or {}).get(
                    "output", {}
                ).get("headers", {})
                counts[headers.get(KEY_HEADER)] += 1
        return counts


def exactly_once(counts: Counter[str | None], logical: int, failed: int = 0) -> tuple[int, int, int]:
    """(runs counted, duplicates, lost) for `logical` triggers that each used their own key.

    A key seen n > 1 times counts n - 1 duplicates; a run without a key is a duplicate too (it
    was not started by a keyed trigger). A logical trigger without a run is lost unless its
    Prefect task run ended Failed (`failed` of them), saying the trigger did not happen.
    """
    runs = sum(counts.values())
    keyed = {key: n for key, n in counts.items() if key is not None}
    duplicates = sum(n - 1 for n in keyed.values()) + counts.get(None, 0)
    lost = max(0, logical - len(keyed) - failed)
    return runs, duplicates, lost
