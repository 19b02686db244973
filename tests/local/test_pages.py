"""Imbrace Local's read-only run and flow pages: HTML a browser opens with its link's token."""

from __future__ import annotations

import httpx

from prefect_imbrace.local import ImbraceLocal
from prefect_imbrace.local.page_links import page_token, page_url

from .conftest import Api, piece_action, return_response


def run_of(api: Api, payload: dict) -> tuple[str, str]:
    flow_id = api.flow("Greeter page", actions=[return_response(body={"echo": "{{trigger.body}}"})])
    assert api.post(f"/webhooks/{flow_id}/sync", json=payload).status_code == 200
    run = api.runs_of(flow_id)[0]
    return flow_id, api.wait_run(run["id"])["id"]


def test_the_run_page_shows_status_flow_and_steps_with_its_token(api: Api, engine: ImbraceLocal) -> None:
    flow_id, run_id = run_of(api, {"name": "Ada"})
    answer = httpx.get(page_url(engine.url, engine.api_key, "runs", run_id))
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/html")
    page = answer.text
    assert "SUCCEEDED" in page and "Greeter page" in page and run_id in page
    assert "<td>trigger</td>" in page and "<td>step_1</td>" in page and "Ada" in page
    assert answer.headers["referrer-policy"] == "no-referrer"
    assert answer.headers["cache-control"] == "no-store"
    # the flow page linked from it lists the run, with a link to it
    flow_link = page_url(engine.url, engine.api_key, "flows", flow_id)
    assert flow_link.replace("&", "&amp;") in page or flow_link in page
    flow_page = httpx.get(flow_link)
    assert flow_page.status_code == 200 and "Greeter page" in flow_page.text and run_id in flow_page.text


def test_a_page_without_its_token_answers_401_and_says_nothing(api: Api, engine: ImbraceLocal) -> None:
    flow_id, run_id = run_of(api, {"name": "Bob"})
    base = f"{engine.url}/_local/ui"
    wrong = [
        f"{base}/runs/{run_id}",  # no token
        f"{base}/runs/{run_id}?token=",
        f"{base}/runs/{run_id}?token={page_token(engine.api_key, 'flows', run_id)}",  # other kind
        f"{base}/runs/{run_id}?token={page_token('api_someone_else', 'runs', run_id)}",  # other key
        f"{base}/flows/{flow_id}?token={page_token(engine.api_key, 'runs', run_id)}",  # other page
        f"{base}/runs/AAAAAAAAAAAAAAAAAAAAA?token={page_token(engine.api_key, 'runs', run_id)}",
    ]
    for url in wrong:
        answer = httpx.get(url)
        assert answer.status_code == 401, url
        assert "Bob" not in answer.text and run_id not in answer.text


def test_secrets_never_appear_on_a_page(api: Api, engine: ImbraceLocal) -> None:
    _, run_id = run_of(api, {"leak": engine.api_key})  # the trigger also records x-api-key
    page = httpx.get(page_url(engine.url, engine.api_key, "runs", run_id)).text
    assert engine.api_key not in page
    assert "**REDACTED**" in page


def test_the_pages_root_says_it_is_imbrace_local_without_credentials(engine: ImbraceLocal) -> None:
    answer = httpx.get(f"{engine.url}/_local/ui")
    assert answer.status_code == 200 and answer.json()["service"] == "imbrace-local"


def test_a_failed_steps_error_reads_as_one_line_with_the_stored_text_below(api: Api, engine: ImbraceLocal) -> None:
    call = piece_action("step_1", "@activepieces/piece-http", "send_request", {
        "method": "GET", "url": "http://127.0.0.1:1/", "headers": {}, "queryParams": {}, "authType": "NONE"},
        version="~0.9.5")
    flow_id = api.flow("Broken call", actions=[call])
    api.post(f"/webhooks/{flow_id}", json={})
    run = api.wait_run(api.runs_of(flow_id)[0]["id"])
    assert run["steps"]["step_1"]["errorMessage"].startswith('{\n  "response"')  # as the engine stores it
    page = httpx.get(page_url(engine.url, engine.api_key, "runs", run["id"])).text
    assert "<pre>HTTP 500</pre><details><summary>as stored</summary>" in page
    assert "&quot;status&quot;: 500" in page
