"""`Workflows` and `AsyncWorkflows` share one definition per endpoint: same names, same
keyword-only parameters, same docs; blocking on one side, awaitable on the other."""

from __future__ import annotations

import inspect

import pytest

from prefect_imbrace.client import AsyncWorkflows, Workflows
from prefect_imbrace.client._resource import endpoint, paged

SEED = [
    "list_flows",
    "get_flow",
    "create_flow",
    "delete_flow",
    "apply_flow_operation",
    "trigger_flow",
    "trigger_flow_sync",
    "list_runs",
    "get_run",
    "list_folders",
    "get_folder",
    "create_folder",
    "update_folder",
    "delete_folder",
    "list_connections",
    "get_connection",
    "upsert_connection",
    "delete_connection",
    "list_mcp_servers",
    "get_mcp_server",
    "create_mcp_server",
    "update_mcp_server",
    "delete_mcp_server",
    "rotate_mcp_token",
    "list_tables",
    "get_table",
    "list_records",
]
EXTRA = [
    "retry_run",
    "retry_runs",
    "cancel_runs",
    "archive_runs",
    "resolve_project_id",
    "get_project",
    "create_table",
    "update_table",
    "delete_table",
    "list_fields",
    "create_field",
    "create_records",
    "update_record",
    "delete_records",
    "get_record",
    "list_pieces",
    "get_trigger_run_status",
    "test_trigger",
    "list_invitations",
    "delete_invitation",
    "iter_flows",
    "iter_runs",
    "iter_folders",
    "iter_connections",
    "iter_mcp_servers",
    "iter_tables",
]


def _public(cls):
    return {n for n in dir(cls) if not n.startswith("_")}


def _endpoints():
    return sorted(n for n in _public(Workflows) if isinstance(getattr(Workflows, n), endpoint))


def test_same_public_methods():
    assert _public(Workflows) == _public(AsyncWorkflows)
    assert set(SEED) | set(EXTRA) == _public(Workflows)


def test_each_endpoint_is_defined_once_and_shared():
    for name in _public(Workflows) - {"resolve_project_id"}:
        assert isinstance(getattr(Workflows, name), endpoint | paged), name
        assert getattr(Workflows, name) is getattr(AsyncWorkflows, name), name


def test_parameters_are_keyword_only_and_take_a_timeout():
    for name in _endpoints():
        parameters = list(inspect.signature(getattr(Workflows, name).__wrapped__).parameters.values())[1:]
        assert all(p.kind in (p.KEYWORD_ONLY, p.VAR_KEYWORD) for p in parameters), name
        assert "timeout" in [p.name for p in parameters], name


def test_blocking_and_awaitable_twins(client, aclient):
    for name in _endpoints():
        sync, other = getattr(client.workflows, name), getattr(aclient.workflows, name)
        assert not inspect.iscoroutinefunction(sync), name
        assert inspect.iscoroutinefunction(other), name
        assert sync.__doc__ and sync.__doc__ == other.__doc__, name
    assert inspect.iscoroutinefunction(aclient.workflows.resolve_project_id)


def test_positional_arguments_are_refused(client):
    with pytest.raises(TypeError, match="positional"):
        client.workflows.get_run("AAAAAAAAAAAAAAAAAAAAA")


def test_bulk_run_calls_refuse_an_unknown_selector(client):
    from prefect_imbrace.exceptions import ImbraceConfigurationError

    with pytest.raises(ImbraceConfigurationError, match="flow_ids"):
        client.workflows.cancel_runs(flow_ids=["AAAAAAAAAAAAAAAAAAAAA"])


def test_docs_index_lists_every_method():
    from pathlib import Path

    page = (Path(__file__).parents[2] / "docs" / "client.md").read_text()
    missing = [
        name
        for name in sorted(_public(Workflows))
        if f"`{name}(" not in page and f"/ `{name}`" not in page
    ]
    assert missing == []
