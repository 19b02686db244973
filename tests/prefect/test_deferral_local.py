"""`defer_after` where no suspension is possible, and its input checks.

Suspension needs a flow run of a deployment (tests/deployments/test_deferred_wait.py covers
it on a real server with a worker); here, under the test harness, a deferrable wait must
return exactly what the blocking wait returns.
"""

from __future__ import annotations

import pytest
from imbrace_flows import ImbraceFlows
from prefect import flow

from prefect_imbrace.credentials import ImbraceCredentials
from prefect_imbrace.exactly_once.deferral import (
    DeferralNote,
    DeferredWait,
    check_defer_after,
    note_name,
)
from prefect_imbrace.exceptions import ImbraceConfigurationError, ImbraceRunFailed
from prefect_imbrace.local import ImbraceLocal
from prefect_imbrace.tasks import trigger_flow_and_wait, trigger_many_and_wait


@pytest.mark.parametrize("bad", [0, -1, "5", True])
def test_defer_after_must_be_a_positive_number(bad: object) -> None:
    with pytest.raises(ImbraceConfigurationError, match="defer_after"):
        check_defer_after(bad)  # type: ignore[arg-type]
    assert check_defer_after(None) is None
    assert check_defer_after(2) == 2.0


def test_outside_a_deployment_a_deferrable_wait_blocks_and_returns_the_result(
    creds: ImbraceCredentials, flows: ImbraceFlows, engine: ImbraceLocal
) -> None:
    flow_id = flows.slow(2.0)

    @flow
    def waits() -> dict:
        return trigger_flow_and_wait(creds, flow_id, {"x": 1}, defer_after=0.5).payload

    assert waits() == {"done": True}
    assert engine.control.counters()["runs_per_flow"][flow_id] == 1


def test_a_fan_out_with_defer_after_outside_a_deployment_returns_every_result(
    creds: ImbraceCredentials, flows: ImbraceFlows, engine: ImbraceLocal
) -> None:
    flow_id = flows.slow(1.5)

    @flow
    def fan_out() -> list:
        return trigger_many_and_wait(creds, flow_id, [{"i": i} for i in range(4)], defer_after=0.5)

    assert [r.payload for r in fan_out()] == [{"done": True}] * 4
    assert engine.control.counters()["runs_per_flow"][flow_id] == 4


def test_a_failed_run_raises_the_same_error_with_defer_after(
    creds: ImbraceCredentials, flows: ImbraceFlows
) -> None:
    flow_id = flows.failing()

    @flow
    def waits() -> None:
        trigger_flow_and_wait(creds, flow_id, {}, defer_after=5)

    with pytest.raises(ImbraceRunFailed):
        waits()


def test_the_note_names_the_trigger_records_and_no_secret() -> None:
    from datetime import datetime, timezone

    now = datetime.now(timezone.utc)
    note = DeferralNote(flow_run_id="ABC", engine_url="http://127.0.0.1:1/activepieces",
                        waits=[DeferredWait(flow_id="f", key="k", first_planned_at=now)],
                        timeout_at=now)
    assert note_name("ABC") == "imbrace-deferral-abc"
    assert set(note.model_dump()) == {"flow_run_id", "engine_url", "waits", "deferred_at",
                                      "timeout_at", "deferrals"}
