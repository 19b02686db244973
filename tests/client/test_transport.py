"""Transport edges: unreadable bodies, injected transports/clients, lifecycle, logging hygiene."""

from __future__ import annotations

import logging

import httpx
import pytest

from prefect_imbrace.client import AsyncImbraceClient, ImbraceClient
from prefect_imbrace.exceptions import APIError, APIStatusError

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_unreadable_success_bodies_raise_api_error(fresh, wf):
    fresh.control.add_fault(
        r"/v1/folders$", method="GET", status=200, body="<html>proxy page</html>"
    )
    with pytest.raises(APIError, match="cannot read") as info:
        await wf.list_folders()
    assert not isinstance(info.value, APIStatusError)
    fresh.control.add_fault(r"/v1/folders$", method="GET", status=200, body={"data": "not a list"})
    with pytest.raises(APIError, match="Is the URL an Imbrace engine"):
        await wf.list_folders()


async def test_truncated_json_via_mock_transport():
    """A 200 whose JSON is cut off mid-body: a shape Imbrace Local cannot send."""

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200, content=b'{"data": [{"id": "abc"', headers={"content-type": "application/json"}
        )

    with ImbraceClient(
        api_key="k", gateway="http://engine.invalid", transport=httpx.MockTransport(handler)
    ) as client:
        with pytest.raises(APIError, match="cannot read"):
            client.workflows.list_flows()


async def test_injected_http_client_is_used_and_left_open(fresh, engine):
    seen: list[str] = []
    http = httpx.Client(event_hooks={"request": [lambda r: seen.append(r.url.path)]})
    with ImbraceClient(api_key=engine.api_key, gateway=engine.url, http_client=http) as client:
        client.workflows.list_folders()
    assert seen == ["/activepieces/v1/folders"]
    assert not http.is_closed  # the caller owns it
    http.close()

    ahttp = httpx.AsyncClient()
    async with AsyncImbraceClient(
        api_key=engine.api_key, gateway=engine.url, http_client=ahttp
    ) as aclient:
        await aclient.workflows.list_folders()
    assert not ahttp.is_closed
    await ahttp.aclose()


async def test_context_managers_close_their_pool(engine):
    with ImbraceClient(api_key=engine.api_key, gateway=engine.url) as client:
        client.workflows.list_folders()
    assert client.is_closed
    async with AsyncImbraceClient(api_key=engine.api_key, gateway=engine.url) as aclient:
        await aclient.workflows.list_folders()
    assert aclient.is_closed


async def test_request_id_is_sent_and_echoed(fresh, engine):
    ids: list[str] = []
    http = httpx.Client(event_hooks={"request": [lambda r: ids.append(r.headers["x-request-id"])]})
    with ImbraceClient(api_key=engine.api_key, gateway=engine.url, http_client=http) as client:
        with pytest.raises(APIStatusError) as info:
            client.workflows.get_folder(folder_id="missing")
    http.close()
    assert info.value.request_id == ids[0]


async def test_debug_logs_never_hold_secrets(fresh, engine, caplog, echo_flow):
    caplog.set_level(logging.DEBUG)
    secret_value = "xoxb-very-secret-0001"
    with ImbraceClient(api_key=engine.api_key, gateway=engine.url) as client:
        flow_id = echo_flow(client)
        client.workflows.trigger_flow_sync(
            flow_id=flow_id, payload={"n": 1}, headers={"x-hook-secret": secret_value}
        )
        conn = client.workflows.upsert_connection(
            body={
                "externalId": "c1",
                "displayName": "c",
                "pieceName": "@activepieces/piece-webhook",
                "type": "SECRET_TEXT",
                "value": {"type": "SECRET_TEXT", "secret_text": secret_value},
            }
        )
        client.workflows.get_connection(connection_id=conn.id)
    assert engine.api_key not in caplog.text
    assert secret_value not in caplog.text
    assert "prefect_imbrace.client" in {r.name for r in caplog.records}
