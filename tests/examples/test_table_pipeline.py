"""The data pipeline: records go through an Imbrace flow and land in an Imbrace table."""

from __future__ import annotations

import pytest
import table_pipeline

pytestmark = pytest.mark.usefixtures("prefect_api")


def test_orders_are_enriched_and_loaded_into_the_table(target, block):
    with target.client() as client:
        flow_id = table_pipeline.build_prioritiser(client)

    first = table_pipeline.table_pipeline(flow_id, "Orders", 4, block)
    second = table_pipeline.table_pipeline(flow_id, "Orders", 2, block)

    assert second["table_id"] == first["table_id"]  # found by name, not created twice
    with target.client() as client:
        assert [t.name for t in client.workflows.list_tables(limit=50).data] == ["Orders"]
        assert sorted(f.name for f in client.workflows.list_fields(table_id=first["table_id"])) == sorted(
            table_pipeline.COLUMNS
        )
        records = client.workflows.list_records(table_id=first["table_id"], limit=50).data
    rows = sorted((r.values()["order"], r.values()["total"], r.values()["priority"]) for r in records)
    assert rows == [
        ("ORD-0001", "35", "normal"), ("ORD-0001", "35", "normal"),
        ("ORD-0002", "70", "normal"), ("ORD-0002", "70", "normal"),
        ("ORD-0003", "105", "high"), ("ORD-0004", "140", "high"),
    ]
    assert target.engine.control.counters()["runs_per_flow"][flow_id] == 6
