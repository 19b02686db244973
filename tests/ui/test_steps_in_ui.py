"""An Imbrace run's steps in the real Prefect UI: the failed step is a red task run in the graph.

A real `prefect server start` and a real `imbrace-local` process; `flows/steps_in_graph.py`
runs against both as a user would (a subprocess with the server's environment): a three-step
Imbrace flow waited for twice from Prefect (step_2 fails once, on a mail service that is down),
a fan-out of three with one such failure, and two runs started outside Prefect, then written
as flow runs by `observe_imbrace_runs(reflect_runs=True)`.

Checked through the Prefect API (every step's task run, state and the engine's error), then in
Debian's chromium: the Task Runs tab of each flow run lists every step in its state; the flow
run page of the V2 UI draws the steps unfolded on its graph (a canvas); the test finds the red
nodes on it by colour, clicks them until the node panel names `step_2 · Send email` as Failed,
and opens that task run's page, which shows the engine's error. Screenshots go to docs/images with `IMBRACE_UI_SCREENSHOTS=docs/images`.
"""

from __future__ import annotations

import base64
import json
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from .ui_support import API_KEY, ROOT, UI_WAIT_MS, Shots

pytestmark = [pytest.mark.browser, pytest.mark.deployments]

STEPS_DONE = ["trigger · Catch Webhook", "step_1 · Map data", "step_2 · Send email", "step_3 · Reply"]
FAILED_STEP = "step_2 · Send email"

# Boxes of the failed state's red on a screenshot of the graph canvas (image pixels), found in
# the page itself: no image library is needed on the Python side.
_RED_BOXES_JS = """
async (b64) => {
  const img = new Image();
  img.src = 'data:image/png;base64,' + b64;
  await img.decode();
  const canvas = document.createElement('canvas');
  canvas.width = img.width; canvas.height = img.height;
  const ctx = canvas.getContext('2d');
  ctx.drawImage(img, 0, 0);
  const data = ctx.getImageData(0, 0, img.width, img.height).data;
  const cell = 3, W = Math.ceil(img.width / cell), H = Math.ceil(img.height / cell);
  const red = new Uint8Array(W * H);
  for (let y = 0; y < img.height; y += cell) for (let x = 0; x < img.width; x += cell) {
    const i = (y * img.width + x) * 4;
    if (data[i] > 170 && data[i + 1] < 80 && data[i + 2] < 100) red[(y / cell) * W + x / cell] = 1;
  }
  const boxes = [], seen = new Uint8Array(W * H);
  for (let start = 0; start < W * H; start++) {
    if (!red[start] || seen[start]) continue;
    let x0 = W, y0 = H, x1 = 0, y1 = 0; const stack = [start]; seen[start] = 1;
    while (stack.length) {
      const k = stack.pop(), x = k % W, y = (k - x) / W;
      x0 = Math.min(x0, x); x1 = Math.max(x1, x); y0 = Math.min(y0, y); y1 = Math.max(y1, y);
      for (const n of [k - 1, k + 1, k - W, k + W]) {
        if (n >= 0 && n < W * H && red[n] && !seen[n] && Math.abs((n % W) - x) <= 1) { seen[n] = 1; stack.push(n); }
      }
    }
    const w = (x1 - x0 + 1) * cell, h = (y1 - y0 + 1) * cell;
    if (h >= 12 && w >= 9 && h <= 80) boxes.push({x: x0 * cell, y: y0 * cell, w, h});
  }
  return boxes;
}
"""


@pytest.fixture(scope="module")
def steps_demo(prefect_server: Any, imbrace_local_process: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """`flows/steps_in_graph.py` against the real server and the running Imbrace Local."""
    env = {k: v for k, v in prefect_server.env.items() if not k.startswith("IMBRACE_")}
    env.update(IMBRACE_API_KEY=API_KEY, IMBRACE_GATEWAY_URL=imbrace_local_process)
    done = subprocess.run([sys.executable, "flows/steps_in_graph.py"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)
    (tmp_path_factory.mktemp("steps-demo") / "steps_in_graph.log").write_text(done.stdout + done.stderr)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "Mail service up: COMPLETED; mail service down: FAILED." in done.stdout
    ids: dict[str, str] = json.loads(done.stdout.strip().splitlines()[-1])
    assert all(ids.values()), ids
    return ids


def _steps(prefect_server: Any, flow_run_id: str) -> dict[str, Any]:
    """The step task runs of a flow run (the waiting task left out), by name."""
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    with prefect_server.client() as client:
        runs = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])))
    return {r.name: r for r in runs if not r.name.startswith("Trigger Imbrace flow")}


def _engine_error(imbrace_local: str, flow_id: str) -> str:
    """The engine's error of step_2 in the failed runs of the Imbrace flow (all the same text)."""
    from prefect_imbrace.client import ImbraceClient

    with ImbraceClient(gateway=imbrace_local, api_key=API_KEY) as client:
        failed = [client.workflows.get_run(run_id=r.id) for r in client.workflows.list_runs(
            flow_id=flow_id, status=["FAILED"], limit=10).data]
    errors = {run.steps["step_2"].error_text for run in failed}
    assert len(errors) == 1 and None not in errors, errors
    return str(errors.pop())


def test_steps_show_through_the_prefect_api(prefect_server: Any, imbrace_local_process: str,
                                             steps_demo: dict[str, str]) -> None:
    error = _engine_error(imbrace_local_process, steps_demo["imbrace_flow_id"])
    for kind in ("", "observed_"):
        failed = _steps(prefect_server, steps_demo[f"{kind}failed_flow_run"])
        assert sorted(failed) == sorted(STEPS_DONE[:3]), kind
        assert [failed[n].state_type.value for n in STEPS_DONE[:3]] == ["COMPLETED", "COMPLETED", "FAILED"]
        assert failed[FAILED_STEP].state.message == error
        done = _steps(prefect_server, steps_demo[f"{kind}completed_flow_run"])
        assert sorted(done) == sorted(STEPS_DONE), kind
        assert {r.state_type.value for r in done.values()} == {"COMPLETED"}
    # the fan-out: only the failed run, as a task run of its own holding its steps
    fan_out = _steps(prefect_server, steps_demo["fan_out_flow_run"])
    runs = [r for name, r in fan_out.items() if name.startswith("Imbrace run ")]
    assert len(runs) == 1 and runs[0].state_type.value == "FAILED"
    assert sorted(n for n in fan_out if not n.startswith("Imbrace run ")) == sorted(STEPS_DONE[:3])


def _open_failed_step(page: Any, ui: str, flow_run_id: str) -> str:
    """On the V2 flow run page, click the graph's red nodes until the panel shows the failed
    step; returns the link to its task run page. The graph draws its nodes a while after the
    canvas appears (longer on a loaded machine): it is looked at again until a deadline."""
    page.goto(f"{ui}/v2/runs/flow-run/{flow_run_id}")
    canvas = page.locator("canvas").first
    canvas.wait_for(timeout=UI_WAIT_MS)
    panel_link = page.locator("h3 a[href*='/runs/task-run/']")
    deadline = time.monotonic() + UI_WAIT_MS / 1000
    tried: list[Any] = []
    while time.monotonic() < deadline:
        page.wait_for_timeout(2000)
        origin = canvas.bounding_box()
        boxes = page.evaluate(_RED_BOXES_JS, base64.b64encode(canvas.screenshot()).decode())
        tried.append(boxes)
        for box in boxes:
            page.mouse.click(origin["x"] + box["x"] + min(box["w"], 24) / 2,
                             origin["y"] + box["y"] + box["h"] / 2)
            try:
                panel_link.wait_for(timeout=3000)
            except PlaywrightTimeoutError:  # not a node (the state bar's edge): the next one
                continue
            if panel_link.inner_text().strip() == FAILED_STEP:
                panel = page.locator("div", has=panel_link).filter(has_text="Task Run ID").last
                assert panel.get_by_text("Failed", exact=True).count() == 1
                return str(panel_link.get_attribute("href"))
            page.get_by_role("button", name="Close panel").click()
    raise AssertionError(f"no red node of the graph is {FAILED_STEP!r}; red boxes seen: {tried}")


def _listed_states(page: Any, ui: str, flow_run_id: str, names: list[str]) -> dict[str, str]:
    """The state each task run shows in the flow run page's Task Runs tab (V2 UI)."""
    page.goto(f"{ui}/v2/runs/flow-run/{flow_run_id}?tab=TaskRuns")
    page.get_by_text(names[-1], exact=True).first.wait_for(timeout=UI_WAIT_MS)
    states = {}
    for name in names:
        row = page.locator("div", has=page.get_by_text(name, exact=True)).filter(
            has=page.get_by_text(re.compile(r"^(Completed|Failed)$"))).last
        states[name] = "Failed" if "\nFailed\n" in row.inner_text() + "\n" else "Completed"
    return states


def test_the_task_runs_tab_lists_each_step_in_its_state(
    prefect_server: Any, steps_demo: dict[str, str], browser: Any,
) -> None:
    page = browser.new_context(viewport={"width": 1360, "height": 860}).new_page()
    for kind in ("", "observed_"):
        failed = _listed_states(page, prefect_server.ui_url, steps_demo[f"{kind}failed_flow_run"], STEPS_DONE[:3])
        assert failed == {STEPS_DONE[0]: "Completed", STEPS_DONE[1]: "Completed", FAILED_STEP: "Failed"}, kind
        done = _listed_states(page, prefect_server.ui_url, steps_demo[f"{kind}completed_flow_run"], STEPS_DONE)
        assert set(done.values()) == {"Completed"}, (kind, done)
    page.context.close()


def test_a_failed_step_is_a_red_task_run_in_the_graph_with_the_engines_error(
    prefect_server: Any, imbrace_local_process: str, steps_demo: dict[str, str], browser: Any, tmp_path: Path,
) -> None:
    shots = Shots(tmp_path)
    ui = prefect_server.ui_url
    error = _engine_error(imbrace_local_process, steps_demo["imbrace_flow_id"])
    context = browser.new_context(viewport={"width": 1360, "height": 860})
    page = context.new_page()

    link = _open_failed_step(page, ui, steps_demo["failed_flow_run"])
    shots.take(page, "prefect-steps-graph")
    page.goto(ui + link)
    page.get_by_text(f"Error: {error}").first.wait_for(timeout=UI_WAIT_MS)
    assert FAILED_STEP in page.inner_text("body")
    shots.take(page, "prefect-step-task-run")
    assert API_KEY not in page.content()

    page.goto(f"{ui}/v2/runs/flow-run/{steps_demo['fan_out_flow_run']}")
    page.locator("canvas").first.wait_for(timeout=UI_WAIT_MS)
    page.wait_for_timeout(3000)
    shots.take(page, "prefect-steps-fan-out")
    _open_failed_step(page, ui, steps_demo["fan_out_flow_run"])

    # the same run started outside Prefect, written by the observer as a flow run of its own
    link = _open_failed_step(page, ui, steps_demo["observed_failed_flow_run"])
    assert page.get_by_text("Imbrace · Welcome email · " + steps_demo["imbrace_flow_id"]).count() >= 1
    shots.take(page, "prefect-observed-run")
    page.goto(ui + link)
    page.get_by_text(f"Error: {error}").first.wait_for(timeout=UI_WAIT_MS)
    context.close()
