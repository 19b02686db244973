"""The quickstart (README's first command): chain, fan-out, artifacts, real-Imbrace mode."""

from __future__ import annotations

import pytest
import quickstart
from imbrace_demo import build_classifier, build_greeter
from prefect.client.orchestration import get_client

from prefect_imbrace.exceptions import ImbraceConfigurationError

pytestmark = pytest.mark.usefixtures("prefect_api")


def test_pipeline_chains_and_fans_out_exactly_once(target, capsys):
    outcome = quickstart.run(target, None, None, batch_size=12, max_concurrent=6)

    assert outcome["reply"] == {"greeting": "Hello, Prefect!", "n": 12}
    assert outcome["chained"] == {"n": 12, "size": "large", "message": "Hello, Prefect! 12 is large."}
    sizes = {row["n"]: row["size"] for row in outcome["batch"]}
    assert sizes == {n: "small" if n <= 10 else "large" for n in range(1, 13)}
    assert {row["status"] for row in outcome["batch"]} == {"SUCCEEDED"}

    runs = target.engine.control.counters()["runs_per_flow"]
    assert sorted(runs.values()) == [1, 13]  # greeter once; classifier 1 chained + 12 batch

    printed = capsys.readouterr().out
    assert "12/12 batch runs succeeded" in printed
    assert "Classifier answered: {'n': 12, 'size': 'large'" in printed
    with get_client(sync_client=True) as client:
        artifact = client.read_latest_artifacts()
    keys = {a.key for a in artifact}
    assert "imbrace-quickstart-batch" in keys


def test_main_runs_end_to_end_on_its_own_local_engine(capsys):
    assert quickstart.main(["--batch-size", "3"]) == 0
    printed = capsys.readouterr().out
    assert "started Imbrace Local" in printed
    assert "3/3 batch runs succeeded" in printed


def test_real_imbrace_mode_uses_given_flows_and_creates_nothing(target, monkeypatch, capsys):
    with target.client() as client:
        sync_id, async_id = build_greeter(client), build_classifier(client)
        flows_before = len(client.workflows.list_flows(limit=100).data)
    monkeypatch.setenv("IMBRACE_API_KEY", target.engine.api_key)
    monkeypatch.setenv("IMBRACE_GATEWAY_URL", target.engine.url)
    monkeypatch.setenv("IMBRACE_SYNC_FLOW_ID", sync_id)

    assert quickstart.main(["--async-flow-id", async_id, "--batch-size", "2"]) == 0

    assert "Using real Imbrace" in capsys.readouterr().out
    with target.client() as client:
        assert len(client.workflows.list_flows(limit=100).data) == flows_before
    assert target.engine.control.counters()["runs_per_flow"][async_id] == 3


def test_real_imbrace_mode_says_which_flow_ids_are_missing(monkeypatch):
    monkeypatch.setenv("IMBRACE_API_KEY", "not-used-before-the-check")
    with pytest.raises(ImbraceConfigurationError, match="IMBRACE_SYNC_FLOW_ID, IMBRACE_ASYNC_FLOW_ID"):
        quickstart.main([])


def test_flow_ids_without_a_key_are_refused(capsys):
    with pytest.raises(SystemExit) as exit_info:
        quickstart.main(["--sync-flow-id", "abc"])
    assert exit_info.value.code == 2
    assert "set IMBRACE_API_KEY" in capsys.readouterr().err
