"""`prefect deploy` with the `apply_imbrace_flows` step, against a real Prefect server.

The example folder `flows/imbrace_as_code` is copied to a temporary folder and deployed with
`prefect --no-prompt deploy --all` in a subprocess (the server's environment): the build step
applies the Imbrace files to Imbrace Local, then the deployment is registered. A process worker
then runs the deployment, which finds the Imbrace flow by its key and triggers it once.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from prefect_imbrace import find_imbrace_flow_id
from prefect_imbrace.client import ImbraceClient
from prefect_imbrace.credentials import ImbraceCredentials
from prefect_imbrace.local import ImbraceLocal

EXAMPLE = Path(__file__).resolve().parents[2] / "flows" / "imbrace_as_code"

pytestmark = pytest.mark.deployments


def deploy(folder: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "prefect", "--no-prompt", "deploy", "--all"],
        cwd=folder, env=env, capture_output=True, text=True, timeout=300,
    )


def test_prefect_deploy_ships_the_imbrace_flows_and_a_deployment_that_triggers_them(
    prefect_server, imbrace_local: ImbraceLocal, tmp_path: Path
) -> None:
    folder = tmp_path / "project"
    shutil.copytree(EXAMPLE, folder)
    with prefect_server.settings():
        ImbraceCredentials(api_key=imbrace_local.api_key, gateway=imbrace_local.url).save("imbrace", overwrite=True)
    prefect_server.create_pool("imbrace-examples")
    env = {k: v for k, v in prefect_server.env.items() if not k.startswith("IMBRACE_")}

    done = deploy(folder, env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Applied: 3 created, 0 updated, 0 deleted, 0 unchanged, 0 failed." in done.stdout

    with ImbraceClient(api_key=imbrace_local.api_key, gateway=imbrace_local.url) as client:
        flow_id = find_imbrace_flow_id(client, key="order-intake")
        flow = client.workflows.get_flow(flow_id=flow_id)
        assert flow.status == "ENABLED" and flow.published_version_id is not None
        assert [f.display_name for f in client.workflows.iter_folders()] == ["Orders"]
        assert [t.name for t in client.workflows.iter_tables()] == ["Reviewed orders"]
    with prefect_server.client() as client:
        deployment = client.read_deployment_by_name("trigger-order-intake/order-intake")
    assert deployment.work_pool_name == "imbrace-examples"
    assert deployment.parameters["key"] == "order-intake"

    # a second deploy changes nothing on the engine
    counts = imbrace_local.control.counters()["requests"]
    writes = sum(n for route, n in counts.items() if not route.startswith("GET "))
    again = deploy(folder, env)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "No changes: 3 object(s) already match the files." in again.stdout
    counts = imbrace_local.control.counters()["requests"]
    assert sum(n for route, n in counts.items() if not route.startswith("GET ")) == writes

    # the deployment triggers the Imbrace flow, found by its key at run time
    workers = prefect_server.start_workers("imbrace-examples", count=1)
    try:
        run = prefect_server.run_deployment(str(deployment.id))
        (finished,) = prefect_server.wait_for_flow_runs([run.id], timeout=240)
        assert finished.state.is_completed(), (finished.state, workers[0].log()[-3000:])
    finally:
        for worker in workers:
            worker.stop()
    assert imbrace_local.control.counters()["runs_per_flow"] == {flow_id: 1}
