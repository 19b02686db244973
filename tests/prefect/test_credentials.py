"""The credentials block: clients, settings, SDK client, connection test, no secret in repr."""

from __future__ import annotations

import sys

import pytest
from imbrace_prefect_helpers import SECRET_KEY

from prefect_imbrace.client import AsyncImbraceClient, ImbraceClient
from prefect_imbrace.credentials import ImbraceCredentials
from prefect_imbrace.exceptions import AuthenticationError


def test_get_client_returns_a_new_client_each_call(creds):
    first, second = creds.get_client(), creds.get_client()
    assert isinstance(first, ImbraceClient) and first is not second
    first.close(), second.close()
    assert isinstance(creds.get_async_client(), AsyncImbraceClient)


def test_secrets_never_in_repr_or_dump(creds):
    assert SECRET_KEY not in repr(creds)
    assert SECRET_KEY not in str(creds.model_dump())
    assert SECRET_KEY not in creds.model_dump_json()


def test_connection_test_passes_and_fails_typed(creds, engine):
    creds.test_connection()
    bad = creds.model_copy(update={"api_key": creds.api_key.__class__("wrong-key")})
    with pytest.raises(AuthenticationError) as info:
        bad.test_connection()
    assert "wrong-key" not in str(info.value)


def test_defaults_come_from_prefect_settings_then_imbrace_env(monkeypatch, engine):
    monkeypatch.setenv("PREFECT_INTEGRATIONS_IMBRACE_API_KEY", SECRET_KEY)
    monkeypatch.setenv("PREFECT_INTEGRATIONS_IMBRACE_GATEWAY", engine.url)
    monkeypatch.setenv("IMBRACE_ORGANIZATION_ID", "org_from_env")
    kwargs = ImbraceCredentials().client_kwargs()
    assert kwargs["api_key"] == SECRET_KEY and kwargs["gateway"] == engine.url
    assert kwargs["organization_id"] == "org_from_env"
    ImbraceCredentials().test_connection()
    # an explicit credential wins over the settings as a group
    explicit = ImbraceCredentials(access_token="tok", organization_id="org_x")
    assert explicit.client_kwargs()["api_key"] is None
    assert explicit.client_kwargs()["access_token"] == "tok"


def test_bad_url_is_a_clear_error():
    with pytest.raises(ValueError, match="must be an http\\(s\\) URL"):
        ImbraceCredentials(api_key="k", gateway="app-gatewayv2.imbrace.co")


def test_sdk_client_is_configured_the_same_way(creds, engine):
    sdk = creds.get_sdk_client()
    assert sdk.workflows.list_flows(limit=1)["data"] == []
    assert type(creds.get_sdk_client(asynchronous=True)).__name__ == "AsyncImbraceClient"


def test_sdk_client_without_the_sdk_gives_an_install_hint(creds, monkeypatch):
    monkeypatch.setitem(sys.modules, "imbrace", None)  # the package is installed in dev
    with pytest.raises(ImportError, match="pip install 'prefect-imbrace\\[sdk\\]'"):
        creds.get_sdk_client()
