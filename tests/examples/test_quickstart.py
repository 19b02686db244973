"""The quickstart (README's first command): chain, fan-out, artifacts, real-Imbrace mode."""

from __future__ import annotations

import json
import re

import httpx
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
    classifier = next(fid for fid, count in runs.items() if count == 13).lower()
    batch_key = f"imbrace-batch-imbrace-quickstart-{classifier}"
    run_key = f"imbrace-run-imbrace-quickstart-{classifier}"
    assert f"keyed, with history from run to run: {batch_key}, {run_key}" in printed
    with get_client(sync_client=True) as client:
        latest = {a.key: a for a in client.read_latest_artifacts()}
    rows = json.loads(latest[batch_key].data)
    assert [row["#"] for row in rows] == list(range(1, 13))
    assert {row["status"] for row in rows} == {"SUCCEEDED"}
    assert all('"size"' in row["result"] and row["payload"].startswith('{"greeting"') for row in rows)
    summary = latest[run_key].data
    assert "**Result**" in summary and '"message": "Hello, Prefect! 12 is large."' in summary
    # every run link of every artifact opens Imbrace Local's run page while it runs
    links = [row["link"] for row in rows] + re.findall(r"\(([^)]*/_local/ui/runs/[^)]*)\)", summary)
    assert len(links) == 13
    for link in links:
        page = httpx.get(link)
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert "SUCCEEDED" in page.text


def test_main_runs_end_to_end_on_its_own_local_engine(capsys):
    assert quickstart.main(["--batch-size", "3"]) == 0
    printed = capsys.readouterr().out
    assert "started Imbrace Local" in printed
    assert "3/3 batch runs succeeded" in printed


def test_pointed_at_a_running_imbrace_local_it_builds_its_flows_there(target, monkeypatch, capsys):
    monkeypatch.setenv("IMBRACE_API_KEY", target.engine.api_key)
    monkeypatch.setenv("IMBRACE_GATEWAY_URL", target.engine.url)

    assert quickstart.main(["--batch-size", "2"]) == 0

    printed = capsys.readouterr().out
    assert f"Using Imbrace Local at {target.engine.url}" in printed
    assert "Imbrace flows: greeter" in printed and "2/2 batch runs succeeded" in printed
    # a second run on the same Imbrace Local uses the same two flows (keys keep their history)
    assert quickstart.main(["--batch-size", "2"]) == 0
    assert "Using the Imbrace flows: greeter" in capsys.readouterr().out


def test_given_flow_ids_are_used_and_nothing_is_created(target, monkeypatch, capsys):
    with target.client() as client:
        sync_id, async_id = build_greeter(client), build_classifier(client)
        flows_before = len(client.workflows.list_flows(limit=100).data)
    monkeypatch.setenv("IMBRACE_API_KEY", target.engine.api_key)
    monkeypatch.setenv("IMBRACE_GATEWAY_URL", target.engine.url)
    monkeypatch.setenv("IMBRACE_SYNC_FLOW_ID", sync_id)

    assert quickstart.main(["--async-flow-id", async_id, "--batch-size", "2"]) == 0

    assert "Imbrace flows: greeter" not in capsys.readouterr().out
    with target.client() as client:
        assert len(client.workflows.list_flows(limit=100).data) == flows_before
    assert target.engine.control.counters()["runs_per_flow"][async_id] == 3


def test_real_imbrace_mode_says_which_flow_ids_are_missing(monkeypatch, capsys):
    monkeypatch.setenv("IMBRACE_API_KEY", "not-used-before-the-check")
    monkeypatch.setenv("IMBRACE_GATEWAY_URL", "http://127.0.0.1:9")  # not Imbrace Local
    with pytest.raises(ImbraceConfigurationError, match="IMBRACE_SYNC_FLOW_ID, IMBRACE_ASYNC_FLOW_ID"):
        quickstart.main([])


def test_flow_ids_without_a_key_are_refused(capsys):
    with pytest.raises(SystemExit) as exit_info:
        quickstart.main(["--sync-flow-id", "abc"])
    assert exit_info.value.code == 2
    assert "set IMBRACE_API_KEY" in capsys.readouterr().err
