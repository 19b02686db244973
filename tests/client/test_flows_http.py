"""Flows and flow operations over real HTTP, through `Workflows` and `AsyncWorkflows`."""

from __future__ import annotations

import pytest

from prefect_imbrace.client import operations as ops
from prefect_imbrace.client.models import (
    EmptyTrigger,
    Flow,
    PieceAction,
    PieceTrigger,
    RouterAction,
)
from prefect_imbrace.exceptions import ImbraceConfigurationError, InvalidRequestError, NotFoundError

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_flow_lifecycle(fresh, wf):
    flow = await wf.create_flow(display_name="Lifecycle", metadata={"tags": [{"id": "t1", "name": "etl"}]})
    assert isinstance(flow, Flow)
    assert (flow.status, flow.display_name, flow.version.state) == (
        "DISABLED",
        "Lifecycle",
        "DRAFT",
    )
    assert isinstance(flow.version.trigger, EmptyTrigger)

    await wf.apply_flow_operation(flow_id=flow.id, operation=ops.update_trigger(ops.catch_webhook()))
    await wf.apply_flow_operation(
        flow_id=flow.id, operation=ops.add_action("trigger", ops.return_response("step_1", body={"ok": True}))
    )
    published = await wf.apply_flow_operation(flow_id=flow.id, operation=ops.lock_and_publish())
    assert published.is_enabled and published.is_published and published.version.state == "LOCKED"
    assert isinstance(published.version.trigger, PieceTrigger)
    assert isinstance(published.version.step("step_1"), PieceAction)

    fetched = await wf.get_flow(flow_id=flow.id)
    assert fetched.id == flow.id and fetched.published_version_id == published.published_version_id
    by_version = await wf.get_flow(flow_id=flow.id, version_id=published.published_version_id)
    assert by_version.version.id == published.published_version_id

    renamed = await wf.apply_flow_operation(
        flow_id=flow.id, operation={"type": "CHANGE_NAME", "request": {"displayName": "Renamed"}}
    )
    assert renamed.display_name == "Renamed" and renamed.version.state == "DRAFT"

    enabled = await wf.list_flows(status="ENABLED")
    assert [f.id for f in enabled.data] == [flow.id]
    assert (await wf.list_flows(status=["DISABLED"])).data == []
    assert [f.id for f in (await wf.list_flows(name="renam")).data] == [flow.id]
    assert [f.id for f in (await wf.list_flows(tags="etl")).data] == [flow.id]
    assert [f.id for f in (await wf.list_flows(external_ids=[flow.external_id])).data] == [flow.id]

    assert await wf.delete_flow(flow_id=flow.id) is None
    assert (await wf.list_flows()).data == []


async def test_create_flow_in_folder(fresh, wf):
    folder = await wf.create_folder(display_name="Reports")
    inside = await wf.create_flow(display_name="In folder", folder_id=folder.id)
    named = await wf.create_flow(display_name="By name", folder_name="reports")
    loose = await wf.create_flow(display_name="Loose")
    assert named.folder_id == folder.id
    ids = {f.id for f in (await wf.list_flows(folder_id=folder.id, limit=50)).data}
    assert ids == {inside.id, named.id}
    assert [f.id for f in (await wf.list_flows(folder_id="NULL")).data] == [loose.id]
    moved = await wf.apply_flow_operation(flow_id=inside.id, operation=ops.change_folder(None))
    assert moved.folder_id is None


async def test_router_loop_and_more_operations(fresh, wf):
    flow = await wf.create_flow(display_name="Tree")
    await wf.apply_flow_operation(flow_id=flow.id, operation=ops.update_trigger(ops.catch_webhook()))
    router = ops.router(
        "step_1",
        [
            ops.branch("big", ops.condition("{{trigger.body.n}}", "NUMBER_IS_GREATER_THAN", 5)),
            ops.fallback_branch(),
        ],
    )
    await wf.apply_flow_operation(flow_id=flow.id, operation=ops.add_action("trigger", router))
    await wf.apply_flow_operation(
        flow_id=flow.id, operation=ops.add_action("step_1", ops.return_response("step_2", body="big"), branch_index=0)
    )
    await wf.apply_flow_operation(
        flow_id=flow.id,
        operation=ops.add_action("step_1", ops.return_response("step_3", body="small"), branch_index=1),
    )
    await wf.apply_flow_operation(
        flow_id=flow.id,
        operation=ops.add_action("step_1", ops.loop("step_4", "{{trigger.body.items}}"), location="AFTER"),
    )
    tree = await wf.apply_flow_operation(
        flow_id=flow.id, operation=ops.add_action("step_4", ops.delay("step_5", 0), location="INSIDE_LOOP")
    )
    step_1 = tree.version.step("step_1")
    assert isinstance(step_1, RouterAction)
    assert [c.name if c else None for c in step_1.children_] == ["step_2", "step_3"]
    assert [s.name for s in tree.version.steps()] == [
        "trigger",
        "step_1",
        "step_2",
        "step_3",
        "step_4",
        "step_5",
    ]

    tree = await wf.apply_flow_operation(flow_id=flow.id, operation=ops.set_skip_action("step_5"))
    assert tree.version.step("step_5").skip is True
    tree = await wf.apply_flow_operation(flow_id=flow.id, operation=ops.duplicate_action("step_5"))
    assert len(tree.version.steps()) == 7
    tree = await wf.apply_flow_operation(flow_id=flow.id, operation=ops.delete_action(["step_5"]))
    assert tree.version.step("step_5") is None
    tree = await wf.apply_flow_operation(flow_id=flow.id, operation=ops.update_metadata({"owner": "ops"}))
    assert tree.metadata == {"owner": "ops"}


async def test_operation_errors(fresh, wf):
    flow = await wf.create_flow(display_name="Errs")
    with pytest.raises(InvalidRequestError) as info:
        await wf.apply_flow_operation(flow_id=flow.id, operation={"type": "MOVE_TO_FOLDER", "request": {}})
    assert info.value.code == "FST_ERR_VALIDATION"
    with pytest.raises(InvalidRequestError) as info:
        await wf.apply_flow_operation(flow_id=flow.id, operation=ops.duplicate_action("nope"))
    assert info.value.code == "STEP_NOT_FOUND"
    with pytest.raises(NotFoundError):
        await wf.get_flow(flow_id="AAAAAAAAAAAAAAAAAAAAA")


@pytest.mark.parametrize(
    ("method", "kwargs", "message"),
    [
        ("get_flow", {"flow_id": ""}, "Expected a non-empty value for `flow_id` but received ''"),
        ("delete_flow", {"flow_id": None}, "Expected a non-empty value for `flow_id` but received None"),
        ("get_flow", {"flow_id": "not-a-valid-id"}, "21 letters and digits"),
        ("get_flow", {"flow_id": "A" * 21 + "\n"}, "21 letters and digits"),
        (
            "apply_flow_operation",
            {"flow_id": "short", "operation": {"type": "LOCK_FLOW", "request": {}}},
            "21 letters and digits",
        ),
        ("trigger_flow", {"flow_id": ""}, "Expected a non-empty value for `flow_id`"),
        ("get_run", {"run_id": ""}, "Expected a non-empty value for `run_id` but received ''"),
        ("get_folder", {"folder_id": ""}, "Expected a non-empty value for `folder_id` but received ''"),
        ("get_connection", {"connection_id": ""}, "Expected a non-empty value for `connection_id` but received ''"),
        ("get_mcp_server", {"mcp_server_id": ""}, "Expected a non-empty value for `mcp_server_id` but received ''"),
        ("get_table", {"table_id": ""}, "Expected a non-empty value for `table_id` but received ''"),
        ("get_record", {"record_id": ""}, "Expected a non-empty value for `record_id` but received ''"),
        (
            "delete_invitation",
            {"invitation_id": ""},
            "Expected a non-empty value for `invitation_id` but received ''",
        ),
        ("create_flow", {"display_name": ""}, "Expected a non-empty value for `display_name`"),
    ],
)
async def test_path_params_are_guarded_before_sending(
    fresh, wf, requests_for, method, kwargs, message
):
    with pytest.raises(ImbraceConfigurationError) as info:
        await getattr(wf, method)(**kwargs)
    assert message in str(info.value)
    assert fresh.control.counters()["requests"] == {}


@pytest.mark.parametrize(
    ("method", "kwargs", "fragment"),
    [
        (
            "list_runs",
            {"created_after": __import__("datetime").datetime(2026, 1, 1)},
            "timezone-aware",
        ),
        ("list_runs", {"flow_id": ["bad"]}, "21 letters"),
        ("list_flows", {"limit": "10"}, "limit"),
        ("cancel_runs", {}, "Select the runs"),
        ("retry_run", {"run_id": "AAAAAAAAAAAAAAAAAAAAA", "strategy": "NOW"}, "FROM_FAILED_STEP"),
        ("list_invitations", {"type": "ALL"}, "PLATFORM"),
        ("upsert_connection", {"body": {"displayName": "x"}}, "externalId"),
        (
            "create_field",
            {"table_id": "AAAAAAAAAAAAAAAAAAAAA", "name": "c", "type": "STATIC_DROPDOWN"},
            "options",
        ),
        ("delete_records", {"ids": []}, "at least one"),
        ("trigger_flow", {"flow_id": "AAAAAAAAAAAAAAAAAAAAA", "payload": {"x": object()}}, "JSON"),
    ],
)
async def test_bad_arguments_never_reach_the_engine(fresh, wf, method, kwargs, fragment):
    with pytest.raises(ImbraceConfigurationError, match=fragment):
        await getattr(wf, method)(**kwargs)
    assert fresh.control.counters()["requests"] == {}
