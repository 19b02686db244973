"""A failed step's `errorMessage` in each form it comes in reads as one readable message.

The 0.72.4 engine stores a string (JSON re-printed indented, or Node's inspection of the
error); older engines stored `{"message": ...}`. The wait's error, the run summary artifact and
the status events all show the same readable text for either.
"""

from __future__ import annotations

import pytest
from prefect import flow
from prefect.testing.fixtures import asserting_events_worker  # noqa: F401  (fixture)
from test_observability import artifacts_of, events_named

from prefect_imbrace.client.models import FlowRun
from prefect_imbrace.exactly_once.outcome import raise_for_outcome, result_from_run
from prefect_imbrace.exceptions import ImbraceRunFailed
from prefect_imbrace.observability import summary_markdown
from prefect_imbrace.tasks import trigger_flow_and_wait


def test_an_http_failure_reads_as_its_status_everywhere(creds, flows, engine, asserting_events_worker):  # noqa: F811
    fid = flows.http_failing()

    @flow
    def parent():
        return trigger_flow_and_wait(creds, fid, {})

    state = parent(return_state=True)
    with pytest.raises(ImbraceRunFailed) as info:
        state.result()
    err = info.value
    assert err.failed_step == "step_1" and err.error_message == "HTTP 500"
    assert str(err).endswith("at step 'step_1': HTTP 500")
    with creds.get_client() as client:  # what the engine stored: the indented JSON text
        stored = client.workflows.get_run(run_id=err.run_id).steps["step_1"].error_message
    assert stored == '{\n  "response": {\n    "status": 500\n  },\n  "request": {}\n}'

    summary = next(a.data for a in artifacts_of(state.state_details.flow_run_id)
                   if str(a.data).startswith("### Imbrace run"))
    assert "| step_1 | FAILED |" in summary and "| HTTP 500 |" in summary
    (failed,) = [e for e in events_named(asserting_events_worker, "imbrace.flow-run.failed")]
    assert failed.payload["failed_step"] == "step_1" and failed.payload["error_message"] == "HTTP 500"


@pytest.mark.parametrize("stored", [
    {"message": "Send HTTP request: ConnectError: All connection attempts failed"},  # the old object
    "Error: Send HTTP request: ConnectError: All connection attempts failed\n    at run (/x.js:1:1)",
])
def test_the_old_object_form_and_an_inspected_error_read_the_same(stored):
    run = FlowRun.model_validate({
        "id": "RuN0000000000000000a1", "flowId": "f1Ow5ampleIdAbCdEf012", "status": "FAILED",
        "failedStep": {"name": "step_1", "displayName": "Call"},
        "steps": {"step_1": {"type": "PIECE", "status": "FAILED", "errorMessage": stored}},
    })
    result = result_from_run(run)
    with pytest.raises(ImbraceRunFailed) as info:
        raise_for_outcome(run, result)
    assert "ConnectError: All connection attempts failed" in str(info.value)
    assert "\n" not in info.value.error_message and "/x.js" not in info.value.error_message
    assert "ConnectError: All connection attempts failed |" in summary_markdown(result)
