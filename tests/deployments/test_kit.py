"""The deployment test kit itself: server, pool, worker, deployment, flow run, UI, teardown."""

from __future__ import annotations

import os
import time
from pathlib import Path

import httpx

from prefect_imbrace.testing_deployments import PrefectServer, wait_for_no_flow_run_process

HERE = Path(__file__).parent


def test_a_deployed_flow_runs_on_a_process_worker(prefect_server: PrefectServer) -> None:
    started = time.monotonic()
    prefect_server.create_pool("kit-pool")
    deployment_id = prefect_server.deploy(
        f"{HERE / 'deployed_flows.py'}:hello", name="kit", pool="kit-pool",
    )
    (worker,) = prefect_server.start_workers("kit-pool", count=1)
    try:
        flow_run = prefect_server.run_deployment(deployment_id, parameters={"name": "kit"})
        (done,) = prefect_server.wait_for_flow_runs([flow_run.id], timeout=240)
        assert done.state.is_completed(), (done.state, worker.log()[-2000:])
        with prefect_server.settings():
            result = done.state.result()
        assert result["greeting"] == "hello kit"
        assert result["pid"] not in (os.getpid(), worker.pid, prefect_server.pid)
        assert wait_for_no_flow_run_process(flow_run.id) == []  # it ends with the run
    finally:
        worker.stop()
    assert worker.process.poll() is not None
    print(f"deployed flow run on a worker: {time.monotonic() - started:.1f}s")


def test_the_ui_calls_this_server(prefect_server: PrefectServer) -> None:
    settings = httpx.get(f"{prefect_server.ui_url}/ui-settings", timeout=10).json()
    assert settings["api_url"] == prefect_server.api_url
    assert httpx.get(prefect_server.ui_url, timeout=10).status_code == 200
    assert prefect_server.env["PREFECT_API_URL"] == prefect_server.api_url
    assert "PYTHONPYCACHEPREFIX" in prefect_server.env
