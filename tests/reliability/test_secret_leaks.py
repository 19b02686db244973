"""No secret anywhere Prefect stores or shows it.

Representative flows run with known secret values (API key, access token, connection secret,
a wrong API key, and the MCP tokens the engine generates); then every place a user or an
operator could read is scanned: API logs, artifacts, events, persisted results, flow and
task run states, messages and parameters, block documents (as the API shows them), every
exception's str/repr, reprs of blocks, clients and models, and the Python log records.

The Imbrace runs' steps are part of it: every wait shows its steps as task runs (state
messages, a log each with the step's output or error, the events that wrote them), and runs
started outside Prefect are written as flow runs by `observe_imbrace_runs(reflect_runs=True)`.
"""

from __future__ import annotations

import asyncio
import base64
import json
from pathlib import Path
from typing import Any

import pytest
from prefect import flow
from prefect.blocks.system import Secret
from prefect.client.orchestration import get_client
from prefect.events.clients import AssertingPassthroughEventsClient
from prefect.events.worker import EventsWorker
from prefect.logging.handlers import APILogHandler
from prefect.settings import (
    PREFECT_LOCAL_STORAGE_PATH,
    PREFECT_RESULTS_PERSIST_BY_DEFAULT,
    temporary_settings,
)
from reliability_figures import record_leak_scan
from reliability_support import ACCESS_TOKEN, API_KEY, CONNECTION_SECRET

from prefect_imbrace import tasks as t
from prefect_imbrace.credentials import ImbraceCredentials
from prefect_imbrace.exceptions import ImbraceError
from prefect_imbrace.flows import observe_imbrace_runs, trigger_flow_and_wait_for_completion

WRONG_KEY = "sk-rel-5ecret-WrongKey-aa11bb22cc33dd44"
HTTP_PIECE = "@activepieces/piece-http"


@pytest.fixture
def events(monkeypatch: pytest.MonkeyPatch):
    """Record every event emitted (and still pass them to the test server)."""
    worker = EventsWorker.instance(AssertingPassthroughEventsClient)
    monkeypatch.setattr(EventsWorker, "instance", lambda *_: worker)
    yield worker
    worker.drain()


def _connection(external_id: str, piece: str = HTTP_PIECE) -> dict[str, Any]:
    return {"externalId": external_id, "displayName": "Secret conn", "pieceName": piece,
            "type": "SECRET_TEXT", "value": {"type": "SECRET_TEXT", "secret_text": CONNECTION_SECRET}}


def _texts_of(obj: Any) -> list[str]:
    return [str(obj), repr(obj)]


async def _everything_prefect_shows(storage: Path, events: Any, caplog: Any) -> list[tuple[str, str]]:
    """(where, text) for everything stored or shown after the flows ran."""
    await APILogHandler.aflush()
    found: list[tuple[str, str]] = []
    async with get_client() as client:
        offset = 0
        while True:
            logs = await client.read_logs(limit=200, offset=offset)
            found += [("log", log.message) for log in logs]
            offset += len(logs)
            if len(logs) < 200:
                break
        for artifact in await client.read_artifacts(limit=200):
            found.append(("artifact", json.dumps(artifact.model_dump(mode="json"), default=str)))
        for run in await client.read_flow_runs(limit=200):
            found.append(("flow run", json.dumps(run.model_dump(mode="json"), default=str)))
            for state in await client.read_flow_run_states(run.id):
                found.append(("flow run state", json.dumps(state.model_dump(mode="json"), default=str)))
        for run in await client.read_task_runs(limit=200):
            found.append(("task run", json.dumps(run.model_dump(mode="json"), default=str)))
        for doc in await client.read_block_documents(include_secrets=False):
            found.append(("block document", json.dumps(doc.model_dump(mode="json"), default=str)))
    events.drain()
    for event in events._client.events:
        found.append(("event", event.model_dump_json()))
    for path in storage.rglob("*"):
        if path.is_file():
            found.append(("persisted result", _stored_text(path.read_bytes())))
    for record in caplog.records:
        found.append(("python log", record.getMessage()))
    return found


def _stored_text(raw: bytes) -> str:
    """A result record's text with its base64-encoded serialised value decoded too."""
    text = raw.decode("latin-1")
    try:
        record = json.loads(raw)
    except ValueError:
        return text
    value = record.get("result") if isinstance(record, dict) else None
    if isinstance(value, str):
        try:
            text += "\n" + base64.b64decode(value).decode("latin-1")
        except ValueError:
            pass
    return text


async def _wait_until_ended(credentials: ImbraceCredentials, flow_ids: list[str]) -> None:
    async with credentials.get_async_client() as client:
        for _ in range(300):
            runs = [run for flow_id in flow_ids
                    for run in (await client.workflows.list_runs(flow_id=flow_id, limit=50)).data]
            if all(run.is_terminal for run in runs):
                return
            await asyncio.sleep(0.2)
    raise TimeoutError(f"runs of {flow_ids} still going")


def _leaks(found: list[tuple[str, str]], secrets: list[str]) -> list[tuple[str, str]]:
    return [(where, secret[:12] + "...") for where, text in found for secret in secrets if secret in text]


async def test_no_secret_in_anything_prefect_stores_or_shows(engine, flows, tmp_path, events, caplog):
    caplog.set_level("DEBUG")
    storage = tmp_path / "results"
    by_key = ImbraceCredentials(api_key=API_KEY, gateway=engine.url, timeout=10)
    by_token = ImbraceCredentials(access_token=ACCESS_TOKEN, organization_id="org_local",
                                  gateway=engine.url, timeout=10)
    wrong = ImbraceCredentials(api_key=WRONG_KEY, gateway=engine.url, timeout=5, max_retries=0)
    echo, failing = flows.echo(), flows.using_connection("rel-secret-conn")
    secrets = [API_KEY, ACCESS_TOKEN, CONNECTION_SECRET, WRONG_KEY]
    shown: list[tuple[str, str]] = []

    with temporary_settings({PREFECT_RESULTS_PERSIST_BY_DEFAULT: True,
                             PREFECT_LOCAL_STORAGE_PATH: storage}):
        await by_key.save("rel-imbrace-key", overwrite=True)
        await by_token.save("rel-imbrace-token", overwrite=True)
        loaded = await ImbraceCredentials.load("rel-imbrace-key")
        shown += [("block repr", text) for text in _texts_of(loaded) + _texts_of(loaded.get_client())]

        @flow(name="reliability-secrets")
        async def representative() -> dict[str, Any]:
            key_creds = await ImbraceCredentials.load("rel-imbrace-key")
            token_creds = await ImbraceCredentials.load("rel-imbrace-token")
            ok = await t.atrigger_flow_and_wait(key_creds, echo, {"hello": "world"})
            by_access_token = await t.atrigger_flow_and_wait(token_creds, echo, {"via": "token"})
            # the run read back through the gateway records x-access-token in its trigger step
            run_read = await t.aget_run(token_creds, by_access_token.run_id)
            conn = await t.aupsert_connection(key_creds, _connection("rel-secret-conn"))
            read = await t.aget_connection(key_creds, conn.id)
            server = await t.acreate_mcp_server(key_creds, name="rel mcp")
            rotated = await t.arotate_mcp_token(key_creds, server.id, secret_block_name="rel-mcp-token")
            return {"runs": [ok.run_id, by_access_token.run_id], "conn": read.id,
                    "results": [ok.model_dump_json(), by_access_token.model_dump_json(),
                                run_read.model_dump_json()],
                    "tokens": [server.token.get_secret_value(), rotated.token.get_secret_value()],
                    "reprs": [repr(conn), repr(read), repr(server), repr(rotated), str(read),
                              repr(run_read)]}

        out = await representative()
        secrets += out.pop("tokens")
        shown += [("model repr", text) for text in out["reprs"]]
        shown += [("task result (as returned)", text) for text in out["results"]]
        assert (await Secret.load("rel-mcp-token")).get() == secrets[-1]

        failures = [
            trigger_flow_and_wait_for_completion(by_key, failing, {}, return_state=True),
            trigger_flow_and_wait_for_completion(by_token, failing, {}, return_state=True),
            trigger_flow_and_wait_for_completion(wrong, echo, {}, return_state=True),
        ]

        @flow(name="reliability-secret-errors")
        async def bad_connection() -> None:
            await t.aupsert_connection(by_key, _connection("rel-bad", piece="@imbrace/no-such-piece"))

        failures.append(await bad_connection(return_state=True))
        # runs started outside Prefect (the key and the token in their trigger headers), then
        # written as Prefect flow runs with their steps by the observer
        for credentials in (by_key, by_token):
            with credentials.get_client() as client:
                client.workflows.trigger_flow_sync(flow_id=echo, payload={"observed": True})
        await _wait_until_ended(by_key, [echo, failing])
        observe_imbrace_runs(by_key, flow_ids=[echo, failing], variable_name="rel-secrets-observer",
                             reflect_runs=True)
        for state in failures:
            assert state.is_failed(), state
            exc = await state.aresult(raise_on_failure=False)
            assert isinstance(exc, ImbraceError), exc
            shown += [("exception str/repr", text) for text in _texts_of(exc)]
            shown += [("exception attributes", text) for text in _texts_of(exc.__dict__)]

    found = await _everything_prefect_shows(storage, events, caplog) + shown
    # the steps were there to be scanned: their task runs, their logs, an observed flow run
    assert any(where == "task run" and '"task_key": "imbrace-steps-' in text for where, text in found)
    assert any(where == "log" and text.startswith("trigger · ") and "Output:" in text for where, text in found)
    assert any(where == "flow run" and '"imbrace-observed"' in text for where, text in found)
    leaks = _leaks(found, secrets)
    record_leak_scan("flows: trigger-and-wait (key, token), connections, MCP rotate, credentials "
                     "block, failures", len(found), len(leaks))
    assert len(found) > 50 and any(where == "persisted result" for where, _ in found)
    assert leaks == [], sorted(set(leaks))
