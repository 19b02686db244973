"""`ImbraceCredentials.concurrency_limit` and `rate_limit`: Prefect global limits, checked by
what Imbrace Local saw (`running_high_water`, `requests_per_second_peak`).

Here the processes are one; tests/deployments/test_fleet.py checks the same limits shared by
three workers on a real server.
"""

from __future__ import annotations

import uuid

import pytest
from imbrace_flows import ImbraceFlows
from prefect import flow
from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate

from prefect_imbrace.credentials import ImbraceCredentials
from prefect_imbrace.exactly_once.rate_limit import PrefectRateLimit
from prefect_imbrace.exceptions import ImbraceConfigurationError
from prefect_imbrace.local import ImbraceLocal
from prefect_imbrace.tasks import trigger_flow_and_wait, trigger_many_and_wait


def _limit(limit: int, decay: float | None = None) -> str:
    name = f"imbrace-test-{uuid.uuid4().hex[:8]}"
    with get_client(sync_client=True) as client:
        client.create_global_concurrency_limit(
            GlobalConcurrencyLimitCreate(name=name, limit=limit, slot_decay_per_second=decay or 0.0)
        )
    return name


def _slots_in_use(name: str) -> int:
    with get_client(sync_client=True) as client:
        return client.read_global_concurrency_limit_by_name(name).active_slots


def test_concurrency_limit_bounds_the_runs_in_flight(
    creds: ImbraceCredentials, flows: ImbraceFlows, engine: ImbraceLocal
) -> None:
    name = _limit(2)
    limited = creds.model_copy(update={"concurrency_limit": name})
    flow_id = flows.slow(1.0)

    @flow
    def fan_out() -> list:
        return trigger_many_and_wait(limited, flow_id, [{"i": i} for i in range(6)])

    results = fan_out()
    assert [r.payload for r in results] == [{"done": True}] * 6
    counters = engine.control.counters()
    assert counters["runs_per_flow"][flow_id] == 6
    assert counters["running_high_water"] <= 2
    assert _slots_in_use(name) == 0  # every slot released


def test_rate_limit_paces_every_request(
    creds: ImbraceCredentials, flows: ImbraceFlows, engine: ImbraceLocal
) -> None:
    name = _limit(1, decay=5)  # 5 requests per second, no burst beyond one
    limited = creds.model_copy(update={"rate_limit": name})
    engine.control.reset()
    with limited.get_client() as client:
        for _ in range(12):
            client.workflows.list_flows(limit=1)
    peak = engine.control.counters()["requests_per_second_peak"]
    assert 1 <= peak <= 6  # one slot plus 5 decayed within any one second


async def test_rate_limit_paces_async_requests(
    creds: ImbraceCredentials, engine: ImbraceLocal
) -> None:
    name = _limit(1, decay=5)
    limited = creds.model_copy(update={"rate_limit": name})
    engine.control.reset()
    async with limited.get_async_client() as client:
        for _ in range(8):
            await client.workflows.list_flows(limit=1)
    assert engine.control.counters()["requests_per_second_peak"] <= 6


def test_a_missing_rate_limit_is_a_configuration_error(creds: ImbraceCredentials) -> None:
    limited = creds.model_copy(update={"rate_limit": "no-such-limit"})
    with limited.get_client() as client, pytest.raises(ImbraceConfigurationError, match="no-such-limit"):
        client.workflows.list_flows(limit=1)


def test_limit_names_are_checked_and_the_gate_hides_nothing_secret() -> None:
    with pytest.raises(ValueError, match="global concurrency limit"):
        ImbraceCredentials(concurrency_limit="  ")
    creds = ImbraceCredentials(api_key="k", gateway="http://127.0.0.1:1", rate_limit="imbrace")
    assert creds.client_kwargs()["request_gate"] == PrefectRateLimit("imbrace")
    assert "request_gate" not in ImbraceCredentials(api_key="k").client_kwargs()


def test_a_deferrable_wait_holds_one_slot_of_the_limit_named_in_settings(
    creds: ImbraceCredentials, flows: ImbraceFlows, engine: ImbraceLocal,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The limit named by PREFECT_INTEGRATIONS_IMBRACE_CONCURRENCY_LIMIT_NAME is taken once:
    by the slot a deferrable wait carries. (It was also taken by the in-process slots, so with
    a limit of 1 the wait waited for itself until its flow run timed out.)"""
    name = _limit(1)
    monkeypatch.setenv("PREFECT_INTEGRATIONS_IMBRACE_CONCURRENCY_LIMIT_NAME", name)
    flow_id = flows.slow(1.0)

    @flow(timeout_seconds=60)
    def waits() -> dict:
        return trigger_flow_and_wait(creds, flow_id, {"x": 1}, defer_after=30).payload

    assert waits() == {"done": True}
    assert engine.control.counters()["runs_per_flow"][flow_id] == 1
    assert _slots_in_use(name) == 0
