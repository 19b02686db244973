"""Every error class over real HTTP, and the three auth modes against Imbrace Local."""

from __future__ import annotations

import warnings

import pytest

from prefect_imbrace.client import AsyncImbraceClient, ImbraceClient
from prefect_imbrace.exceptions import (
    APIConnectionError,
    AuthenticationError,
    ConflictError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
)

JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJsb2NhbCJ9.c2lnbmF0dXJl"  # same token as conftest.py

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest.mark.parametrize(
    "kwargs",
    [
        {"access_token": "acc_local_token"},
        {"access_token": JWT, "organization_id": "org_local"},
    ],
    ids=["access-token", "bearer"],
)
async def test_token_auth_modes(fresh, engine, kwargs):
    with ImbraceClient(gateway=engine.url, **kwargs) as client:
        assert client.workflows.get_project().id == engine.project_id
    async with AsyncImbraceClient(gateway=engine.url, **kwargs) as aclient:
        assert (await aclient.workflows.get_project()).id == engine.project_id


async def test_bad_and_missing_credentials(fresh, engine):
    with ImbraceClient(api_key="api_wrong_key_0001", gateway=engine.url) as client:
        with pytest.raises(AuthenticationError) as info:
            client.workflows.list_flows()
    assert info.value.status_code == 401 and "IMBRACE_API_KEY" in str(info.value)
    assert "api_wrong_key_0001" not in str(info.value)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        anonymous = AsyncImbraceClient(gateway=engine.url)
    async with anonymous:
        with pytest.raises(AuthenticationError):
            await anonymous.workflows.list_flows()
    assert (
        engine.control.counters()["requests"].get("GET /activepieces/v1/flows") == 2
    )  # never retried


async def test_foreign_project_id_is_permission_denied(fresh, wf):
    with pytest.raises(PermissionDeniedError) as info:
        await wf.list_flows(project_id="AAAAAAAAAAAAAAAAAAAAA")
    assert info.value.code == "AUTHORIZATION" and "invalid project id" in str(info.value)
    assert info.value.request_id


async def test_not_found_conflict_invalid(fresh, wf):
    with pytest.raises(NotFoundError) as info:
        await wf.get_folder(folder_id="nope")
    assert info.value.status_code == 404 and info.value.code == "ENTITY_NOT_FOUND"
    await wf.create_folder(display_name="a")
    b = await wf.create_folder(display_name="b")
    with pytest.raises(ConflictError):
        await wf.update_folder(folder_id=b.id, display_name="A")
    flow = await wf.create_flow(display_name="x")
    with pytest.raises(InvalidRequestError) as bad:
        await wf.apply_flow_operation(flow_id=flow.id, operation={"type": "CHANGE_NAME", "request": {}})
    assert bad.value.code == "FST_ERR_VALIDATION" and "anyOf" in str(bad.value)
    with pytest.raises(InvalidRequestError) as status:
        await wf.list_runs(status="BOGUS")
    assert "querystring" in str(status.value) and status.value.params == {}


async def test_rate_limit_and_server_errors_after_retries(fresh, engine, requests_for):
    engine.control.add_fault(
        r"/v1/folders$", method="GET", status=429, headers={"retry-after": "0"}, times=10
    )
    engine.control.add_fault(r"/v1/tables$", method="GET", status=502, times=10)
    with ImbraceClient(
        api_key=engine.api_key, gateway=engine.url, max_retries=2, retry_initial_delay=0
    ) as client:
        with pytest.raises(RateLimitError) as limited:
            client.workflows.list_folders()
        with pytest.raises(ServerError) as failed:
            client.workflows.list_tables()
    assert limited.value.retry_after == 0 and "after 2 retries" in str(limited.value)
    assert failed.value.status_code == 502
    assert requests_for(engine, "GET", "/v1/folders") == 3
    assert requests_for(engine, "GET", "/v1/tables") == 3


async def test_unreachable_engine_is_a_connection_error():
    with ImbraceClient(
        api_key="k", gateway="http://127.0.0.1:1", max_retries=1, retry_initial_delay=0
    ) as client:
        with pytest.raises(APIConnectionError, match="IMBRACE_GATEWAY_URL"):
            client.workflows.list_flows()
        # a POST refused before sending is safe to retry and ends as a plain connection error
        with pytest.raises(APIConnectionError) as info:
            client.workflows.trigger_flow(flow_id="AAAAAAAAAAAAAAAAAAAAA")
    assert type(info.value) is APIConnectionError


@pytest.mark.parametrize(
    ("kwargs", "advice"),
    [
        ({"api_key": "api_unknown_key_000"}, "IMBRACE_API_KEY"),
        ({"access_token": "acc_unknown_token"}, "access token was rejected"),
        (
            {
                "access_token": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.bm9wZQ",
                "organization_id": "org_local",
            },
            "JWT",
        ),
    ],
    ids=["api-key", "access-token", "bearer"],
)
async def test_401_advice_follows_the_auth_mode(fresh, engine, kwargs, advice):
    with ImbraceClient(gateway=engine.url, **kwargs) as client:
        with pytest.raises(AuthenticationError) as info:
            client.workflows.list_folders()
    assert advice in str(info.value)
    secret = kwargs.get("api_key") or kwargs["access_token"]
    assert secret not in str(info.value) and secret not in repr(info.value.__dict__)
