"""`Workflows` and `AsyncWorkflows` share one definition per endpoint: same names, same
parameters (the official SDK's leading ones positional, options keyword-only), same docs and
signatures; blocking on one side, awaitable on the other."""

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
    "resume_run",
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


def test_options_are_keyword_only_and_take_a_timeout():
    for name in _endpoints():
        parameters = inspect.signature(getattr(Workflows, name).__wrapped__).parameters
        assert parameters["timeout"].kind is inspect.Parameter.KEYWORD_ONLY, name
        assert not [p for p in parameters.values() if p.kind is p.VAR_POSITIONAL], name


def test_blocking_and_awaitable_twins(client, aclient):
    for name in _endpoints():
        sync, other = getattr(client.workflows, name), getattr(aclient.workflows, name)
        assert not inspect.iscoroutinefunction(sync), name
        assert inspect.iscoroutinefunction(other), name
        assert sync.__doc__ and sync.__doc__ == other.__doc__, name
    assert inspect.iscoroutinefunction(aclient.workflows.resolve_project_id)


def test_bound_methods_show_their_real_signature(client, aclient):
    from prefect_imbrace.client import FlowRun, SeekPage, TriggerReceipt
    from prefect_imbrace.client.pagination import AsyncPager, Pager

    for workflows in (client.workflows, aclient.workflows):
        signature = inspect.signature(workflows.trigger_flow)
        assert list(signature.parameters)[:2] == ["flow_id", "payload"]
        assert signature.return_annotation is TriggerReceipt
        assert "(flow_id: str, payload: Any = None, *, headers" in str(signature)
    for name in _endpoints():
        sync, other = getattr(client.workflows, name), getattr(aclient.workflows, name)
        defined = getattr(Workflows, name).__wrapped__
        assert inspect.signature(sync) == inspect.signature(other), name
        assert list(inspect.signature(sync).parameters) == list(inspect.signature(defined).parameters)[1:]
        assert "Call" not in str(inspect.signature(sync).return_annotation), name
        assert sync.__qualname__ == f"Workflows.{name}", name
    assert inspect.signature(client.workflows.list_runs).return_annotation is SeekPage[FlowRun]
    iter_runs = inspect.signature(client.workflows.iter_runs)
    assert iter_runs.parameters["limit"].default == 100
    assert iter_runs.return_annotation.__origin__ is Pager
    assert inspect.signature(aclient.workflows.iter_runs).return_annotation.__origin__ is AsyncPager


def test_help_shows_parameters_and_answer_type(client, aclient):
    import pydoc

    text = pydoc.render_doc(client.workflows.get_flow, renderer=pydoc.plaintext)
    assert "get_flow(flow_id: str, *, version_id: str | None = None" in text
    assert "-> prefect_imbrace.client.models.flows.Flow" in text
    text = pydoc.render_doc(aclient.workflows.get_flow, renderer=pydoc.plaintext)
    assert "async get_flow(flow_id: str" in text
    # help() on the resource (its class) lists every method with its parameters too
    text = pydoc.render_doc(client.workflows, renderer=pydoc.plaintext)
    assert "get_flow(self, flow_id: str, *, version_id: str | None = None" in text
    assert "iter_runs(self, limit: int = 100, cursor: str | None = None" in text
    assert "trigger_flow(...)" not in text


@pytest.mark.asyncio(loop_scope="session")
async def test_methods_called_through_the_class(client, aclient, fresh):
    created = Workflows.create_folder(client.workflows, "Through the class")
    assert Workflows.get_folder(client.workflows, created.id).id == created.id
    assert (await AsyncWorkflows.get_folder(aclient.workflows, created.id)).id == created.id
    assert [f.id for f in Workflows.iter_folders(client.workflows)] == [created.id]


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


def test_api_reference_shows_the_methods_as_called():
    """The docs' griffe extension gives both classes every method, returning the decoded model."""
    from pathlib import Path

    import griffe

    root = Path(__file__).parents[2]
    extensions = griffe.load_extensions(str(root / "docs" / "reference" / "griffe_endpoints.py"))
    package = griffe.load("prefect_imbrace", search_paths=[str(root)], extensions=extensions)
    sync = package["client.workflows.Workflows"]
    other = package["client.workflows.AsyncWorkflows"]
    for name in _public(Workflows) - {"resolve_project_id"}:
        assert name in sync.members and name in other.members, name
        assert "Call[" not in str(sync.members[name].returns), name
    trigger = sync.members["trigger_flow"]
    assert [p.name for p in trigger.parameters][1:3] == ["flow_id", "payload"]
    assert str(trigger.returns) == "TriggerReceipt"
    assert "async" in other.members["trigger_flow"].labels
    assert "async" not in trigger.labels
    assert str(other.members["iter_runs"].returns) == "AsyncPager[FlowRun]"
    assert other.members["iter_runs"].parameters["limit"].default == "100"
