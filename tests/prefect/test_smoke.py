from prefect import flow

from prefect_imbrace.tasks import trigger_flow_and_wait


def test_trigger_and_wait_sync_flow(creds, flows, engine):
    fid = flows.echo()

    @flow
    def parent():
        return trigger_flow_and_wait(creds, fid, {"n": 1})

    result = parent()
    assert result.status == "SUCCEEDED"
    assert result.payload == {"echo": {"n": 1}}
    assert engine.control.counters()["runs_per_flow"][fid] == 1
