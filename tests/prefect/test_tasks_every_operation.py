"""Every task pair: the sync task from a sync Prefect flow, its `a`-twin from an async one.

The same scenario (a list of steps) runs in both; in the async flow each step calls the
async twin (`aget_run` for `get_run`), which must return an awaitable, and in the sync flow
the sync task, which must return a plain value.
"""

from __future__ import annotations

import inspect
import time
from typing import Any

import pytest
from prefect import flow, unmapped
from prefect.blocks.system import Secret

import prefect_imbrace.tasks as t
from prefect_imbrace.client import operations as ops

HTTP = "@activepieces/piece-http"


def scenario(creds: Any, tag: str) -> list[tuple[str, Any, Any]]:
    """(result name, task, args(ctx) -> (args, kwargs)) in execution order."""

    def a(*args: Any, **kwargs: Any):
        def build(ctx: dict) -> tuple[tuple, dict]:
            values = tuple(x(ctx) if callable(x) else x for x in args)
            named = {k: v(ctx) if callable(v) else v for k, v in kwargs.items()}
            return (creds, *values), named

        return build

    fid = lambda ctx: ctx["flow"].id  # noqa: E731

    def paused(ctx: dict) -> tuple[str, str]:
        """(run id, request id) of the approval run once it is PAUSED (its reply comes first)."""
        url = ctx["asked"].resume_url  # .../flow-runs/{run id}/requests/{request id}/sync?...
        run_id, request_id = url.split("/flow-runs/")[1].split("/requests/")[0], url.split("/requests/")[1].split("/")[0]
        deadline = time.monotonic() + 10
        with creds.get_client() as client:
            while client.workflows.get_run(run_id).status != "PAUSED":
                assert time.monotonic() < deadline, "the approval run did not pause"
                time.sleep(0.05)
        return run_id, request_id
    return [
        ("folder", t.create_folder, a(f"Folder {tag}")),
        ("folders", t.list_folders, a()),
        ("folder_read", t.get_folder, a(lambda c: c["folder"].id)),
        ("folder_renamed", t.update_folder, a(lambda c: c["folder"].id, f"Renamed {tag}")),
        ("flow", t.create_flow, a(f"Flow {tag}")),
        ("flow_read", t.get_flow, a(fid)),
        ("_", t.apply_flow_operation, a(fid, ops.update_trigger(ops.catch_webhook()))),
        ("_", t.apply_flow_operation,
         a(fid, ops.add_action("trigger", ops.return_response("step_1", body={"got": "{{trigger.body}}"})))),
        ("published", t.apply_flow_operation, a(fid, ops.lock_and_publish())),
        ("flows", t.list_flows, a()),
        ("approval", t.create_flow, a(f"Approval {tag}")),
        ("_", t.apply_flow_operation, a(lambda c: c["approval"].id, ops.update_trigger(ops.catch_webhook()))),
        ("_", t.apply_flow_operation,
         a(lambda c: c["approval"].id, ops.add_action("trigger", ops.respond_and_wait("step_1", body={"asked": 1})))),
        ("_", t.apply_flow_operation, a(lambda c: c["approval"].id, ops.lock_and_publish())),
        ("asked", t.trigger_flow_sync, a(lambda c: c["approval"].id, {})),
        ("resumed", t.resume_run, a(lambda c: paused(c)[0], lambda c: paused(c)[1], {"approved": True})),
        ("reply", t.trigger_flow_sync, a(fid, {"via": "sync"})),
        ("receipt", t.trigger_flow, a(fid, {"via": "async"})),
        ("result", t.trigger_flow_and_wait, a(fid, {"via": "wait"})),
        ("many", t.trigger_many_and_wait, a(fid, [{"i": 1}, {"i": 2}])),
        ("runs", t.list_runs, a(flow_id=fid)),
        ("run", t.get_run, a(lambda c: c["result"].run_id)),
        ("retried", t.retry_run, a(lambda c: c["result"].run_id, "ON_LATEST_VERSION")),
        ("cancelled", t.cancel_runs, a(flow_id=fid, status=["PAUSED"])),
        ("retried_all", t.retry_runs, a("ON_LATEST_VERSION", flow_run_ids=lambda c: [c["result"].run_id])),
        ("_", t.archive_runs, a(flow_run_ids=lambda c: [c["result"].run_id])),
        ("tested", t.test_trigger, a(lambda c: {
            "flowId": c["flow"].id, "flowVersionId": c["published"].version.id, "testStrategy": "TEST_FUNCTION",
        })),
        ("project", t.get_project, a()),
        ("conn", t.upsert_connection, a({
            "externalId": f"conn-{tag}", "displayName": "Conn", "pieceName": HTTP,
            "type": "SECRET_TEXT", "value": {"type": "SECRET_TEXT", "secret_text": "s3cr3t-conn-value"},
        })),
        ("conns", t.list_connections, a()),
        ("conn_read", t.get_connection, a(lambda c: c["conn"].id)),
        ("_", t.delete_connection, a(lambda c: c["conn"].id)),
        ("mcp", t.create_mcp_server, a({"name": f"mcp {tag}"})),
        ("mcps", t.list_mcp_servers, a()),
        ("mcp_read", t.get_mcp_server, a(lambda c: c["mcp"].id)),
        ("mcp_updated", t.update_mcp_server, a(lambda c: c["mcp"].id, name=f"mcp2 {tag}")),
        ("mcp_rotated", t.rotate_mcp_token, a(lambda c: c["mcp"].id, secret_block_name=f"mcp-token-{tag}")),
        ("_", t.delete_mcp_server, a(lambda c: c["mcp"].id)),
        ("table", t.create_table, a(f"table {tag}")),
        ("tables", t.list_tables, a()),
        ("table_read", t.get_table, a(lambda c: c["table"].id)),
        ("table_updated", t.update_table, a(lambda c: c["table"].id, name=f"table2 {tag}")),
        ("field", t.create_field, a(lambda c: c["table"].id, "Email")),
        ("fields", t.list_fields, a(lambda c: c["table"].id)),
        ("records", t.create_records, a(lambda c: c["table"].id, [lambda c: {c["field"].id: "a@b.co"}])),
        ("records_read", t.list_records, a(lambda c: c["table"].id)),
        ("record_updated", t.update_record,
         a(lambda c: c["records"][0].id, lambda c: c["table"].id, lambda c: {c["field"].id: "x@y.z"})),
        ("record_read", t.get_record, a(lambda c: c["records"][0].id)),
        ("_", t.delete_records, a(lambda c: [r.id for r in c["records"]])),
        ("_", t.delete_table, a(lambda c: c["table"].id)),
        ("pieces", t.list_pieces, a()),
        ("trigger_status", t.get_trigger_run_status, a()),
        ("invitations", t.list_invitations, a()),
        ("_", t.delete_flow, a(fid)),
        ("_", t.delete_folder, a(lambda c: c["folder"].id)),
    ]


def resolve(args: tuple, ctx: dict) -> tuple:
    """Arguments may hold lambdas inside lists (record rows) too."""
    out = []
    for arg in args:
        if isinstance(arg, list):
            arg = [x(ctx) if callable(x) else x for x in arg]
        out.append(arg)
    return tuple(out)


def twin(task: Any) -> Any:
    """The async twin of a sync task (`aget_run` for `get_run`)."""
    return getattr(t, "a" + task.fn.__name__)


def _sync_tasks() -> dict[str, Any]:
    return {
        n: getattr(t, n)
        for n in t.__all__
        if not n.startswith("a") or not hasattr(t, n[1:])
    }


def check(ctx: dict, tag: str) -> None:
    assert ctx["folder_renamed"].display_name == f"Renamed {tag}"
    assert ctx["published"].status == "ENABLED"
    assert ctx["reply"].body == {"got": {"via": "sync"}}
    assert ctx["receipt"].webhook_id
    assert ctx["asked"].body == {"asked": 1} and ctx["resumed"].outcome.value == "NO_REPLY"
    assert ctx["result"].payload == {"got": {"via": "wait"}}
    assert [r.payload for r in ctx["many"]] == [{"got": {"i": 1}}, {"got": {"i": 2}}]
    assert ctx["run"].id == ctx["result"].run_id
    assert len(ctx["retried_all"]) == 1 and ctx["retried_all"][0].id != ctx["result"].run_id
    assert ctx["project"].id == ctx["flow"].project_id
    assert ctx["record_read"].id == ctx["records"][0].id
    assert ctx["conn_read"].value.get_secret_value()["secret_text"] == "s3cr3t-conn-value"
    assert "s3cr3t" not in repr(ctx["conn_read"])
    assert ctx["mcp_rotated"].token.get_secret_value() != ctx["mcp"].token.get_secret_value()
    assert ctx["records_read"].data[0].id == ctx["records"][0].id
    assert ctx["record_updated"].id == ctx["records"][0].id
    assert any(p.name == "@activepieces/piece-webhook" for p in ctx["pieces"])


# the waiting tasks come as explicit sync/async pairs (issue 11)
def test_every_public_task_is_in_the_scenario():
    # delete_invitation is the one task no scenario can succeed with: invitations cannot be
    # created through the gateway, so it has its own test below (the typed 404).
    used = {task.name for _, task, _ in scenario(None, "x")} | {t.delete_invitation.name}
    public = {task.name for task in _sync_tasks().values()}
    assert public == used


def test_every_task_has_an_async_twin_of_the_same_shape():
    for name, task in _sync_tasks().items():
        other = getattr(t, "a" + name)
        assert not inspect.iscoroutinefunction(task.fn), name
        assert inspect.iscoroutinefunction(other.fn), name
        assert other.name == task.name, name
        assert inspect.signature(other.fn).parameters == inspect.signature(task.fn).parameters
        assert other.persist_result == task.persist_result, name


def test_delete_invitation_of_an_unknown_invitation_is_a_typed_not_found(creds, engine):
    from prefect_imbrace.exceptions import NotFoundError

    @flow
    def sync_parent() -> None:
        t.delete_invitation(creds, "AAAAAAAAAAAAAAAAAAAAA")

    with pytest.raises(NotFoundError):
        sync_parent()


def test_every_task_from_a_sync_flow(creds, engine):
    @flow
    def sync_parent() -> dict:
        ctx: dict = {}
        for name, task, build in scenario(creds, "sync"):
            args, kwargs = build(ctx)
            value = task(*resolve(args, ctx), **kwargs)
            assert not inspect.isawaitable(value), task.name
            ctx[name] = value
        return ctx

    ctx = sync_parent()
    check(ctx, "sync")
    assert Secret.load("mcp-token-sync").get() == ctx["mcp_rotated"].token.get_secret_value()


async def test_every_task_from_an_async_flow(creds, engine):
    @flow
    async def async_parent() -> dict:
        ctx: dict = {}
        for name, task, build in scenario(creds, "async"):
            args, kwargs = build(ctx)
            pending = twin(task)(*resolve(args, ctx), **kwargs)
            assert inspect.isawaitable(pending), task.name
            ctx[name] = await pending
        return ctx

    ctx = await async_parent()
    check(ctx, "async")
    saved = await Secret.aload("mcp-token-async")
    assert saved.get() == ctx["mcp_rotated"].token.get_secret_value()


def test_submit_and_map_work_from_an_async_flow(creds, flows, engine):
    fid = flows.echo()

    @flow
    async def parent():
        future = t.get_flow.submit(creds, fid)
        results = t.trigger_flow_and_wait.map(unmapped(creds), fid, [{"n": 1}, {"n": 2}, {"n": 3}])
        return future.result(), [r.payload for r in results.result()]

    import asyncio

    got_flow, payloads = asyncio.run(parent())
    assert got_flow.id == fid
    assert payloads == [{"echo": {"n": 1}}, {"echo": {"n": 2}}, {"echo": {"n": 3}}]
    assert engine.control.counters()["runs_per_flow"][fid] == 3


def test_first_argument_must_be_credentials():
    from prefect.logging import disable_run_logger

    from prefect_imbrace.exceptions import ImbraceConfigurationError

    with disable_run_logger(), pytest.raises(ImbraceConfigurationError, match="ImbraceCredentials block"):
        t.get_run.fn("not-credentials", "x" * 21)


def test_task_bodies_run_directly_under_disabled_run_logger(creds, flows):
    from prefect.logging import disable_run_logger

    fid = flows.echo()
    with disable_run_logger():
        assert t.get_flow.fn(creds, fid).id == fid
        assert t.trigger_flow_sync.fn(creds, fid, {"n": 1}).body == {"echo": {"n": 1}}


def test_secret_returning_tasks_never_persist_results():
    for task in (t.get_connection, t.upsert_connection, t.get_mcp_server, t.list_mcp_servers,
                 t.create_mcp_server, t.update_mcp_server, t.rotate_mcp_token):
        assert task.persist_result is False and twin(task).persist_result is False, task.name
