"""The Imbrace story in the real Prefect UI, looked at in Debian's headless Chromium.

A real `prefect server start` (the `prefect_server` fixture) and a real `imbrace-local` process;
the quickstart runs against both as a user would run it (a subprocess with the server's
environment and `IMBRACE_API_KEY`/`IMBRACE_GATEWAY_URL` of that Imbrace Local). Then Playwright
opens the flow run page, the batch table artifact, the chained run's summary and the run page
its link opens on Imbrace Local, and the Event Feed.

Marked `browser` and `deployments`, so it belongs to the slow tier (`uv run pytest -m slow`);
without `/usr/bin/chromium` it fails and says so (`.ci/run` installs `chromium`). Screenshots go to the test's temporary directory; with
`IMBRACE_UI_SCREENSHOTS=docs/images` they are also written there (how the docs' are made).
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from .ui_support import API_KEY, ROOT, UI_WAIT_MS, Shots

BATCH = 20

pytestmark = [pytest.mark.browser, pytest.mark.deployments]


@pytest.fixture(scope="module")
def quickstart_run(prefect_server: Any, imbrace_local_process: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The README's first command, pointed at the real server and the running Imbrace Local."""
    env = {k: v for k, v in prefect_server.env.items() if not k.startswith("IMBRACE_")}
    env.update(IMBRACE_API_KEY=API_KEY, IMBRACE_GATEWAY_URL=imbrace_local_process)
    done = subprocess.run(
        [sys.executable, "flows/quickstart.py", "--batch-size", str(BATCH)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
    )
    (tmp_path_factory.mktemp("quickstart") / "quickstart.log").write_text(done.stdout + done.stderr)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert f"{BATCH}/{BATCH} batch runs succeeded" in done.stdout
    assert f"Using Imbrace Local at {imbrace_local_process}" in done.stdout
    from prefect.client.schemas.filters import FlowFilter, FlowFilterName

    with prefect_server.client() as client:
        runs = client.read_flow_runs(flow_filter=FlowFilter(name=FlowFilterName(any_=["imbrace-quickstart"])))
    assert len(runs) == 1 and runs[0].state.is_completed()
    return {"flow_run_id": str(runs[0].id), "stdout": done.stdout}


def _open_artifact(page: Any, ui_url: str, flow_run_id: str, key_prefix: str) -> None:
    page.goto(f"{ui_url}/runs/flow-run/{flow_run_id}")
    page.get_by_text("Artifacts", exact=True).first.click()
    page.get_by_text(key_prefix, exact=False).first.click(timeout=UI_WAIT_MS)
    page.wait_for_url(re.compile(r"/artifacts/artifact/"), timeout=UI_WAIT_MS)


def _table(page: Any) -> list[dict[str, str]]:
    page.locator("table tbody tr").nth(BATCH - 1).wait_for(timeout=UI_WAIT_MS)
    headers = [h.strip() for h in page.locator("table thead th").all_inner_texts()]
    rows = []
    for row in page.locator("table tbody tr").all():
        cells = [c.strip() for c in row.locator("td").all_inner_texts()]
        rows.append(dict(zip(headers, cells, strict=False)))
    return rows


def test_the_quickstart_tells_its_story_in_the_prefect_ui(
    prefect_server: Any, imbrace_local_process: str, quickstart_run: dict[str, Any], browser: Any, tmp_path: Path,
) -> None:
    shots = Shots(tmp_path)
    ui = prefect_server.ui_url
    flow_run_id = quickstart_run["flow_run_id"]
    context = browser.new_context(viewport={"width": 1360, "height": 860})
    page = context.new_page()

    # 1. the flow run page: completed, with the keyed artifacts on its graph
    page.goto(f"{ui}/runs/flow-run/{flow_run_id}")
    page.get_by_text("Completed").first.wait_for(timeout=UI_WAIT_MS)
    page.get_by_text("imbrace-quickstart").first.wait_for(timeout=UI_WAIT_MS)
    page.wait_for_timeout(3000)  # the run graph (a canvas, with the artifact keys) draws last
    shots.take(page, "prefect-flow-run-page")

    # 2. the batch table: 20 SUCCEEDED rows numbered from 1, each with its result and link
    _open_artifact(page, ui, flow_run_id, "imbrace-batch-imbrace-quickstart-")
    rows = _table(page)
    shots.take(page, "prefect-batch-table")
    assert [row["#"] for row in rows] == [str(n) for n in range(1, BATCH + 1)]
    assert all(row["status"] == "SUCCEEDED" for row in rows)
    assert all('"size"' in row["result"] and '"message"' in row["result"] for row in rows)
    assert all(row["payload"].startswith('{"greeting"') for row in rows)
    links = [row["link"] for row in rows]

    # 3. the chained run's summary: its result and a link that opens Imbrace Local's run page
    _open_artifact(page, ui, flow_run_id, "imbrace-run-imbrace-quickstart-")
    open_link = page.get_by_role("link", name="Open the run")
    open_link.wait_for(timeout=UI_WAIT_MS)
    assert "Hello, Prefect! 20 is large." in page.inner_text("body")
    links.append(open_link.get_attribute("href"))
    with context.expect_page() as opened:
        open_link.click()
    run_page = opened.value
    run_page.wait_for_load_state()
    assert run_page.url.startswith(f"{imbrace_local_process}/_local/ui/runs/")
    run_page.get_by_text("SUCCEEDED").first.wait_for()
    page_text = run_page.inner_text("body")
    assert "Quickstart: classifier" in page_text
    for step in ("trigger", "wait", "classify", "reply_large"):
        assert run_page.locator("td", has_text=re.compile(f"^{step}$")).count() == 1, step
    assert API_KEY not in run_page.content()
    shots.take(run_page, "imbrace-local-run-page", full_page=True)

    # every run link of every artifact answers 200 with HTML, in the browser
    assert len(links) == BATCH + 1 and all(link.startswith(f"{imbrace_local_process}/_local/ui/runs/") for link in links)
    checker = context.new_page()
    for link in links:
        answer = checker.goto(link)
        assert answer is not None and answer.status == 200, link
        assert answer.headers["content-type"].startswith("text/html")
        assert "SUCCEEDED" in checker.inner_text("body")
    # and without its token the same page answers 401
    answer = checker.goto(links[0].split("?")[0])
    assert answer is not None and answer.status == 401

    # 4. the Event Feed: imbrace.flow-run.succeeded, named after the Imbrace flow. Prefect's
    # default UI shows custom resources by id; its V2 UI (/v2) shows their prefect.resource.name.
    card = (
        page.locator("[data-slot=card]")
        .filter(has=page.get_by_text("imbrace.flow-run.succeeded", exact=True))
        .filter(has=page.get_by_text(re.compile(r"^Quickstart: classifier · run ")))
        .first
    )
    # Events reach the server's feed asynchronously (seconds late on a loaded machine) and the
    # page does not refresh itself: load it again until the classifier's event is listed.
    deadline = time.monotonic() + 2 * UI_WAIT_MS / 1000
    while True:
        page.goto(f"{ui}/v2/events")
        try:
            card.wait_for(timeout=15_000)
            break
        except PlaywrightTimeoutError:
            if time.monotonic() > deadline:
                raise
    assert card.get_by_text("Quickstart: classifier", exact=True).count() == 1  # the related flow
    card.get_by_role("button", name="Expand event details").click()  # "Show raw event"
    card.locator(".cm-line", has_text='"imbrace-flow"').wait_for(timeout=UI_WAIT_MS)
    card.scroll_into_view_if_needed()
    page.screenshot(path=str(tmp_path / "prefect-event-feed.png"))  # for debugging; not in the docs
    shots.take(card, "prefect-event")
    page.goto(f"{ui}/events")
    page.get_by_text("imbrace.flow-run.succeeded").first.wait_for(timeout=UI_WAIT_MS)
    context.close()
