"""Configuration like the official SDK: env presets, env vars, auth precedence; secrets stay hidden."""

from __future__ import annotations

import logging
import warnings

import httpx
import pytest

from prefect_imbrace.client import AsyncImbraceClient, ImbraceClient
from prefect_imbrace.client._config import ENVIRONMENTS, resolve_config
from prefect_imbrace.exceptions import ImbraceConfigurationError

JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1c3IifQ.c2lnbmF0dXJl"


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch):
    for name in (
        "IMBRACE_API_KEY",
        "IMBRACE_GATEWAY_URL",
        "IMBRACE_ENV",
        "IMBRACE_ACCESS_TOKEN",
        "IMBRACE_ORGANIZATION_ID",
    ):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize(
    ("kwargs", "environ", "url"),
    [
        ({}, {}, "https://app-gatewayv2.imbrace.co/activepieces"),
        ({"env": "stable"}, {}, "https://app-gatewayv2.imbrace.co/activepieces"),
        ({"env": "prodv2"}, {}, "https://app-gatewayv2.imbrace.co/activepieces"),
        ({"env": "develop"}, {}, "https://app-gateway.dev.imbrace.co/activepieces"),
        ({"env": "SANDBOX"}, {}, "https://app-gateway.sandbox.imbrace.co/activepieces"),
        ({"gateway": "http://127.0.0.1:9/"}, {}, "http://127.0.0.1:9/activepieces"),
        ({"gateway": "http://g", "env": "develop"}, {}, "http://g/activepieces"),
        ({"engine_url": "http://e/ap/", "gateway": "http://g"}, {}, "http://e/ap"),
        ({}, {"IMBRACE_GATEWAY_URL": "http://gw"}, "http://gw/activepieces"),
        ({}, {"IMBRACE_ENV": "develop"}, "https://app-gateway.dev.imbrace.co/activepieces"),
        (
            {},
            {"IMBRACE_ENV": "develop", "IMBRACE_GATEWAY_URL": "http://gw"},
            "http://gw/activepieces",
        ),
        (
            {"env": "sandbox"},
            {"IMBRACE_GATEWAY_URL": "http://gw"},
            "https://app-gateway.sandbox.imbrace.co/activepieces",
        ),
    ],
)
def test_engine_url_resolution(kwargs, environ, url):
    config = resolve_config(api_key="k", environ=environ, **kwargs)
    assert config.engine_url == url


@pytest.mark.parametrize("source", ["arg", "env"])
def test_unknown_env_lists_valid_names(source):
    kwargs, environ = ({"env": "prod"}, {}) if source == "arg" else ({}, {"IMBRACE_ENV": "prod"})
    with pytest.raises(ImbraceConfigurationError) as info:
        resolve_config(api_key="k", environ=environ, **kwargs)
    for name in ENVIRONMENTS:
        assert name in str(info.value)
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize("bad", ["app-gateway.imbrace.co", "ftp://x"])
def test_gateway_must_be_http_url(bad):
    with pytest.raises(ImbraceConfigurationError, match="http"):
        resolve_config(api_key="k", gateway=bad, environ={})


@pytest.mark.parametrize(
    ("kwargs", "environ", "headers"),
    [
        ({"api_key": "key1"}, {}, {"x-api-key": "key1"}),
        (
            {"api_key": "key1", "access_token": JWT, "organization_id": "org_a"},
            {},
            {"x-api-key": "key1"},
        ),
        (
            {"access_token": JWT, "organization_id": "org_a"},
            {},
            {"authorization": f"Bearer {JWT}", "x-organization-id": "org_a"},
        ),
        (
            {"access_token": "acc_opaque", "organization_id": "org_a"},
            {},
            {"x-access-token": "acc_opaque", "x-organization-id": "org_a"},
        ),
        ({"access_token": JWT}, {}, {"x-access-token": JWT}),
        ({}, {"IMBRACE_API_KEY": "envkey"}, {"x-api-key": "envkey"}),
        (
            {},
            {"IMBRACE_ACCESS_TOKEN": "acc_t", "IMBRACE_ORGANIZATION_ID": "org_e"},
            {"x-access-token": "acc_t", "x-organization-id": "org_e"},
        ),
        # explicit credentials beat the environment as a group
        ({"access_token": "acc_arg"}, {"IMBRACE_API_KEY": "envkey"}, {"x-access-token": "acc_arg"}),
        (
            {"access_token": JWT},
            {"IMBRACE_ORGANIZATION_ID": "org_e"},
            {"authorization": f"Bearer {JWT}", "x-organization-id": "org_e"},
        ),
    ],
)
def test_auth_precedence(kwargs, environ, headers):
    assert resolve_config(environ=environ, **kwargs).auth_headers() == headers


def test_no_credentials_warns():
    with pytest.warns(UserWarning, match="no credentials"):
        config = resolve_config(environ={})
    assert config.auth_mode == "none"
    assert config.auth_headers() == {}


def test_organization_id_must_look_like_one():
    with pytest.raises(ImbraceConfigurationError, match="org_"):
        resolve_config(access_token="t", organization_id="demo1", environ={})


def test_env_vars_reach_the_client(monkeypatch):
    monkeypatch.setenv("IMBRACE_API_KEY", "api_from_env_123")
    monkeypatch.setenv("IMBRACE_GATEWAY_URL", "http://127.0.0.1:9")
    with ImbraceClient() as client:
        assert client.engine_url == "http://127.0.0.1:9/activepieces"
        assert client.auth_mode == "api_key"


@pytest.mark.parametrize(
    "make_kwargs",
    [
        lambda: {"max_retries": -1},
        lambda: {"max_retries": 1.5},
        lambda: {"timeout": 0},
        lambda: {"retry_initial_delay": -1},
        lambda: {"max_connections": 0},
        lambda: {"http_client": httpx.AsyncClient()},
    ],
)
def test_bad_client_arguments(make_kwargs):
    with pytest.raises(ImbraceConfigurationError):
        ImbraceClient(api_key="k", gateway="http://127.0.0.1:9", **make_kwargs())


def test_async_client_rejects_a_sync_http_client():
    with pytest.raises(ImbraceConfigurationError, match="AsyncClient"):
        AsyncImbraceClient(api_key="k", gateway="http://127.0.0.1:9", http_client=httpx.Client())


SECRETS = {"api_key": "api_SUPERSECRET_1", "access_token": "acc_SUPERSECRET_2"}


@pytest.mark.parametrize("cls", [ImbraceClient, AsyncImbraceClient])
def test_secrets_never_in_repr(cls):
    client = cls(api_key=SECRETS["api_key"], gateway="http://127.0.0.1:9")
    texts = [repr(client), str(client), repr(client._config), repr(client.workflows)]
    for text in texts:
        assert "SUPERSECRET" not in text
    token_client = cls(
        access_token=SECRETS["access_token"], organization_id="org_x", gateway="http://127.0.0.1:9"
    )
    assert "SUPERSECRET" not in repr(token_client) + repr(token_client._config)


def test_secrets_never_logged_on_errors(caplog):
    caplog.set_level(logging.DEBUG)
    client = ImbraceClient(
        api_key=SECRETS["api_key"],
        gateway="http://127.0.0.1:1",
        max_retries=1,
        retry_initial_delay=0,
    )
    with warnings.catch_warnings(), pytest.raises(Exception) as info:
        client.workflows.list_flows()
    client.close()
    assert "SUPERSECRET" not in str(info.value)
    assert "SUPERSECRET" not in caplog.text
    assert "SUPERSECRET" not in repr(info.value.__dict__)
