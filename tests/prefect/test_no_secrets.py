"""No secret used in the tests shows up in a log, artifact, event, persisted result or error."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from imbrace_prefect_helpers import SECRET_KEY
from prefect import flow
from prefect.client.orchestration import get_client
from prefect.settings import PREFECT_LOCAL_STORAGE_PATH
from prefect.testing.fixtures import asserting_events_worker  # noqa: F401  (fixture)

import prefect_imbrace.tasks as t

CONN_SECRET = "conn-s3cret-value-42"


def all_artifact_text() -> str:
    async def read():
        async with get_client() as client:
            return await client.read_artifacts()

    return "\n".join(str(a.data) + str(a.description) for a in asyncio.run(read()))


def test_no_secret_anywhere(creds, flows, caplog, asserting_events_worker):  # noqa: F811
    caplog.set_level(logging.DEBUG)
    ok, bad = flows.echo(), flows.failing()

    @flow(persist_result=True)
    def parent():
        t.trigger_flow_and_wait(creds, ok, {"x": 1})
        conn = t.upsert_connection(creds, {
            "externalId": "c1", "displayName": "C", "pieceName": "@activepieces/piece-http",
            "type": "SECRET_TEXT", "value": {"type": "SECRET_TEXT", "secret_text": CONN_SECRET},
        })
        read = t.get_connection(creds, conn.id)
        server = t.create_mcp_server(creds, name="m")
        rotated = t.rotate_mcp_token(creds, server.id, secret_block_name="rotated-token")
        t.trigger_flow_and_wait(creds, bad, {})  # fails: its error goes through Prefect
        return read, rotated

    state = parent(return_state=True)
    assert state.is_failed()
    tokens = []
    with creds.get_client() as client:
        for server in client.workflows.list_mcp_servers().data:
            tokens.append(server.token.get_secret_value())
    secrets = [SECRET_KEY, CONN_SECRET, *tokens]

    asserting_events_worker.drain()
    events = "\n".join(e.model_dump_json() for e in asserting_events_worker._client.events)
    storage = Path(PREFECT_LOCAL_STORAGE_PATH.value())
    stored = "\n".join(
        p.read_text(errors="ignore") for p in storage.rglob("*") if p.is_file()
    ) if storage.exists() else ""
    places = {
        "logs": caplog.text,
        "artifacts": all_artifact_text(),
        "events": events,
        "persisted results": stored,
        "flow state message": state.message or "",
    }
    assert events and caplog.text
    for where, text in places.items():
        for secret in secrets:
            assert secret not in text, f"a secret leaked into {where}"
