"""State survives a restart with `--db`; the CLI starts on a free port and stops on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx

from prefect_imbrace.local import ImbraceLocal

from .conftest import Api, piece_action, return_response

PAUSE = piece_action("step_1", "@activepieces/piece-delay", "delayFor", {"unit": "minutes", "delayFor": 5})


def test_state_survives_restart(tmp_path: Path) -> None:
    db = str(tmp_path / "local.db")
    keys = {"persist-key": "org_persist"}
    with ImbraceLocal(api_keys=keys, db=db) as first:
        assert first.control.counters()["state_restored"] is False  # a new file: nothing loaded
        api = Api(first)
        project_id = first.project_id
        done_flow = api.flow("done", actions=[return_response()])
        paused_flow = api.flow("paused", actions=[PAUSE, return_response("step_2")])
        api.post(f"/webhooks/{done_flow}", json={"a": 1})
        api.post(f"/webhooks/{done_flow}", json={"a": 2})
        api.post(f"/webhooks/{paused_flow}", json={})
        finished = [api.wait_run(r["id"]) for r in api.runs_of(done_flow, count=2)]
        paused = api.wait_run(api.runs_of(paused_flow)[0]["id"])
        assert paused["status"] == "PAUSED"
        # Pretend the server died while this run was executing.
        first.control.set_run_status(finished[0]["id"], "RUNNING")
        folder = api.post("/folders", json={"displayName": "kept"}).json()
    with ImbraceLocal(api_keys=keys, db=db) as second:
        counters = second.control.counters()
        # the counters restarted with the process, and say so: stored runs are not counted
        assert counters["state_restored"] is True and counters["runs_per_flow"] == {}
        api = Api(second)
        assert second.project_id == project_id
        assert api.get(f"/flows/{done_flow}").json()["status"] == "ENABLED"
        assert api.get(f"/folders/{folder['id']}").json()["displayName"] == "kept"
        # In-flight runs are re-queued and executed again; paused runs keep waiting.
        assert api.wait_run(finished[0]["id"], statuses=("SUCCEEDED",))["status"] == "SUCCEEDED"
        assert api.get(f"/flow-runs/{finished[1]['id']}").json()["status"] == "SUCCEEDED"
        assert api.get(f"/flow-runs/{paused['id']}").json()["status"] == "PAUSED"
        second.control.resume_run(paused["id"])
        assert api.wait_run(paused["id"], statuses=("SUCCEEDED", "FAILED"))["status"] == "SUCCEEDED"
        assert api.post(f"/webhooks/{done_flow}/sync", json={}).status_code == 200


def test_cli_starts_on_a_free_port_and_stops_on_sigterm(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "prefect_imbrace.local", "--port", "0", "--api-key", "cli-key",
         "--control-token", "ctl", "--db", str(tmp_path / "cli.db")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )
    try:
        line = proc.stdout.readline().strip()
        assert line.startswith("Imbrace Local ready: gateway=http://127.0.0.1:"), line
        fields = dict(part.split("=", 1) for part in line.split(": ", 1)[1].split())
        assert fields["api_key"] == "cli-key" and len(fields["project"]) == 21
        port = int(fields["gateway"].rsplit(":", 1)[1])
        assert port not in (0, 8765)
        r = httpx.get(fields["gateway"] + "/activepieces/v1/users/projects/current", headers={"x-api-key": "cli-key"})
        assert r.json()["id"] == fields["project"]
        assert httpx.get(fields["gateway"] + "/_local/counters", headers={"x-control-token": "ctl"}).status_code == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
        proc.stdout.close()
        proc.stderr.close()


def test_console_script_prints_generated_key() -> None:
    script = Path(sys.executable).with_name("imbrace-local")
    proc = subprocess.Popen([str(script), "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline().strip()
        key = line.rsplit("api_key=", 1)[1]
        assert key.startswith("api_local_")
        gateway = line.split("gateway=", 1)[1].split()[0]
        assert httpx.get(gateway + "/_local/counters").status_code == 401  # no control token configured
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0
        proc.stdout.close()
        proc.stderr.close()
