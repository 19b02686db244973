"""The block scripts: block types registered; a credentials block saved from variables."""

from __future__ import annotations

import create_credentials_block
import pytest
import register_blocks
from prefect.client.orchestration import get_client

from prefect_imbrace.credentials import ImbraceCredentials

pytestmark = pytest.mark.usefixtures("prefect_api")


def test_register_blocks_registers_every_block_type(capsys):
    assert register_blocks.main() == 0

    slugs = register_blocks.register_blocks()
    assert slugs == ["imbrace-credentials", "imbrace-flow"]  # exactly two: no `JobBlock[...]`
    with get_client(sync_client=True) as client:
        for slug in slugs:
            assert client.read_block_type_by_slug(slug).slug == slug
    assert "Registered block type 'imbrace-credentials'." in capsys.readouterr().out


def test_credentials_block_from_environment(target, monkeypatch, capsys):
    secret = target.engine.api_key
    monkeypatch.setenv("IMBRACE_API_KEY", secret)
    monkeypatch.setenv("IMBRACE_GATEWAY_URL", target.engine.url)

    assert create_credentials_block.main(["saved-from-env", "--test"]) == 0

    loaded = ImbraceCredentials.load("saved-from-env")
    assert loaded.api_key.get_secret_value() == secret
    assert loaded.gateway == target.engine.url
    with loaded.get_client() as client:
        client.workflows.list_flows(limit=1)
    printed = capsys.readouterr()
    assert secret not in printed.out + printed.err


def test_credentials_block_needs_a_credential(capsys):
    with pytest.raises(SystemExit) as exit_info:
        create_credentials_block.main(["nothing"])
    assert exit_info.value.code == 2
    assert "Set IMBRACE_API_KEY" in capsys.readouterr().err


def test_access_token_needs_an_organisation():
    with pytest.raises(ValueError, match="IMBRACE_ORGANIZATION_ID"):
        create_credentials_block.credentials_from_env({"IMBRACE_ACCESS_TOKEN": "tok"})


def test_a_block_saved_for_an_example_goes_when_its_imbrace_local_stops(capsys):
    from imbrace_demo import LOCAL_BLOCK, credentials_block_for, imbrace_target

    with imbrace_target() as target:
        assert credentials_block_for(target) == LOCAL_BLOCK
        assert ImbraceCredentials.load(LOCAL_BLOCK).gateway == target.engine.url
    with pytest.raises(ValueError, match="Unable to find"):
        ImbraceCredentials.load(LOCAL_BLOCK)  # no block left pointing at a dead port
