"""`Workflows` and `AsyncWorkflows` are twins: same public names, same signatures, async where it should be."""

from __future__ import annotations

import inspect

from prefect_imbrace.client import AsyncWorkflows, Workflows

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
    return {n for n in vars(cls) if not n.startswith("_")}


def test_same_public_methods():
    assert _public(Workflows) == _public(AsyncWorkflows)
    assert set(SEED) | set(EXTRA) <= _public(Workflows)


def test_same_signatures_and_docs():
    for name in sorted(_public(Workflows)):
        sync, other = getattr(Workflows, name), getattr(AsyncWorkflows, name)
        a, b = inspect.signature(sync), inspect.signature(other)
        assert a.parameters == b.parameters, name
        assert str(a.return_annotation).replace("Iterator", "AsyncIterator") in (
            str(b.return_annotation),
            str(a.return_annotation),
        ), name
        assert sync.__doc__ and sync.__doc__ == other.__doc__, name
        if name.startswith("iter_"):
            assert not inspect.iscoroutinefunction(other)
        else:
            assert inspect.iscoroutinefunction(other), name
            assert not inspect.iscoroutinefunction(sync), name


def test_every_call_takes_a_timeout():
    for name in _public(Workflows) - {"resolve_project_id"}:
        if name.startswith("iter_"):
            continue
        assert "timeout" in inspect.signature(getattr(Workflows, name)).parameters, name


def test_docs_index_lists_every_method():
    from pathlib import Path

    page = (Path(__file__).parents[2] / "docs" / "client.md").read_text()
    missing = [
        name
        for name in sorted(_public(Workflows))
        if f"`{name}(" not in page and f"/ `{name}`" not in page
    ]
    assert missing == []
