"""A data pipeline: extract records, run each through an Imbrace flow, load the results into an
Imbrace table.

    uv run python flows/table_pipeline.py

On Imbrace Local it first builds a *prioritiser* flow (orders over 100 are "high"). Against
real Imbrace give the flow (`--flow-id` or `IMBRACE_ENRICH_FLOW_ID`): it receives one record as
its payload and should reply (Return Response) with the record plus a `priority`. The table is
found by name, or created with its fields on first use.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from imbrace_demo import (
    credentials_block_for,
    draft,
    flow_ids_from,
    imbrace_target,
    load_credentials,
    prefect_api,
)
from prefect import flow, get_run_logger, task

from prefect_imbrace.client import ImbraceClient
from prefect_imbrace.client import operations as ops
from prefect_imbrace.credentials import ImbraceCredentials
from prefect_imbrace.tasks import (
    create_field,
    create_records,
    create_table,
    list_fields,
    list_tables,
    trigger_many_and_wait,
)

COLUMNS = ("order", "customer", "total", "priority")


@task
def extract_orders(count: int) -> list[dict[str, Any]]:
    """Stand-in for a real source (a database, an API, files): deterministic sample orders."""
    customers = ["Ada", "Grace", "Linus", "Barbara", "Ken"]
    return [
        {"order": f"ORD-{n:04d}", "customer": customers[n % len(customers)], "total": 35 * n}
        for n in range(1, count + 1)
    ]


def ensure_table(credentials: ImbraceCredentials, name: str) -> tuple[str, dict[str, str]]:
    """The table called `name` with the `COLUMNS` fields (created when missing): id and
    field name -> field id."""
    page = list_tables(credentials, name=name, limit=10)
    table = next((t for t in page.data if t.name == name), None) or create_table(credentials, name)
    fields = {f.name: f.id for f in list_fields(credentials, table.id)}
    for column in COLUMNS:
        if column not in fields:
            kind = "NUMBER" if column == "total" else "TEXT"
            fields[column] = create_field(credentials, table.id, column, type=kind).id
    return table.id, fields


@flow(name="imbrace-table-pipeline")
def table_pipeline(
    flow_id: str,
    table_name: str = "Prefect orders",
    count: int = 8,
    credentials_block: str | None = None,
) -> dict[str, Any]:
    """Extract `count` orders, enrich each with the Imbrace flow, append them to the table."""
    log = get_run_logger()
    credentials = load_credentials(credentials_block)
    orders = extract_orders(count)
    results = trigger_many_and_wait(credentials, flow_id, orders, max_concurrent=4)
    enriched = [{**order, **(r.payload or {})} for order, r in zip(orders, results, strict=True)]
    table_id, fields = ensure_table(credentials, table_name)
    rows = [{fields[c]: row.get(c) for c in COLUMNS} for row in enriched]
    records = create_records(credentials, table_id, rows)
    log.info("Loaded %s records into Imbrace table %r.", len(records), table_name)
    return {"table_id": table_id, "records": [r.id for r in records], "rows": enriched}


def build_prioritiser(client: ImbraceClient) -> str:
    """Replies with the order and its priority: "high" over 100, else "normal"."""
    flow_id = draft(client, "Pipeline: prioritiser", [])
    high = ops.branch("High", ops.condition("{{trigger.body.total}}", "NUMBER_IS_GREATER_THAN", 100))
    client.workflows.apply_flow_operation(
        flow_id=flow_id, operation=ops.add_action("trigger", ops.router("route", [high, ops.fallback_branch()]))
    )
    for index, priority in ((0, "high"), (1, "normal")):
        body = {"order": "{{trigger.body.order}}", "priority": priority}
        step = ops.return_response(f"reply_{priority}", body=body)
        client.workflows.apply_flow_operation(
            flow_id=flow_id, operation=ops.add_action("route", step, branch_index=index)
        )
    client.workflows.apply_flow_operation(flow_id=flow_id, operation=ops.lock_and_publish())
    return flow_id


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flow-id", help="real Imbrace: the enrichment flow")
    parser.add_argument("--table", default="Prefect orders")
    parser.add_argument("--count", type=int, default=8)
    args = parser.parse_args(argv)
    with prefect_api(), imbrace_target() as target:
        if target.is_local:
            with target.client() as client:
                flow_id = build_prioritiser(client)
        else:
            (flow_id,) = flow_ids_from([args.flow_id], ["IMBRACE_ENRICH_FLOW_ID"])
        outcome = table_pipeline(flow_id, args.table, args.count, credentials_block_for(target))
        print(f"\nImbrace table {args.table!r} ({outcome['table_id']}) got:")
        for row in outcome["rows"]:
            print(f"  {row['order']}  {row['customer']:<8} {row['total']:>5}  {row['priority']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
