"""Tasks for Imbrace tables, fields and records: each a sync task and its async twin `a<name>`."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from prefect_imbrace.tasks._clients import async_client_of, client_of

if TYPE_CHECKING:
    from prefect_imbrace.client import Field, Record, SeekPage, Table
    from prefect_imbrace.client.endpoints.tables import Cells
    from prefect_imbrace.credentials import ImbraceCredentials


@task(name="List Imbrace tables", cache_policy=NO_CACHE)
def list_tables(
    imbrace_credentials: ImbraceCredentials,
    limit: int = 10,
    cursor: str | None = None,
    name: str | None = None,
) -> SeekPage[Table]:
    """One page of tables, newest first."""
    get_run_logger().info("Listing Imbrace tables.")
    with client_of(imbrace_credentials) as client:
        return client.workflows.list_tables(limit=limit, cursor=cursor, name=name)


@task(name="List Imbrace tables", cache_policy=NO_CACHE)
async def alist_tables(
    imbrace_credentials: ImbraceCredentials,
    limit: int = 10,
    cursor: str | None = None,
    name: str | None = None,
) -> SeekPage[Table]:
    """Async twin of `list_tables`."""
    get_run_logger().info("Listing Imbrace tables.")
    async with async_client_of(imbrace_credentials) as client:
        return await client.workflows.list_tables(limit=limit, cursor=cursor, name=name)


@task(name="Get Imbrace table", cache_policy=NO_CACHE)
def get_table(imbrace_credentials: ImbraceCredentials, table_id: str) -> Table:
    """One table (fields are listed by `list_fields`)."""
    get_run_logger().info("Reading Imbrace table %s.", table_id)
    with client_of(imbrace_credentials) as client:
        return client.workflows.get_table(table_id=table_id)


@task(name="Get Imbrace table", cache_policy=NO_CACHE)
async def aget_table(imbrace_credentials: ImbraceCredentials, table_id: str) -> Table:
    """Async twin of `get_table`."""
    get_run_logger().info("Reading Imbrace table %s.", table_id)
    async with async_client_of(imbrace_credentials) as client:
        return await client.workflows.get_table(table_id=table_id)


@task(name="Create Imbrace table", cache_policy=NO_CACHE)
def create_table(
    imbrace_credentials: ImbraceCredentials, name: str, external_id: str | None = None
) -> Table:
    """A new table."""
    get_run_logger().info("Creating Imbrace table %r.", name)
    with client_of(imbrace_credentials) as client:
        return client.workflows.create_table(name=name, external_id=external_id)


@task(name="Create Imbrace table", cache_policy=NO_CACHE)
async def acreate_table(
    imbrace_credentials: ImbraceCredentials, name: str, external_id: str | None = None
) -> Table:
    """Async twin of `create_table`."""
    get_run_logger().info("Creating Imbrace table %r.", name)
    async with async_client_of(imbrace_credentials) as client:
        return await client.workflows.create_table(name=name, external_id=external_id)


@task(name="Update Imbrace table", cache_policy=NO_CACHE)
def update_table(
    imbrace_credentials: ImbraceCredentials,
    table_id: str,
    name: str | None = None,
    trigger: Literal["ON_NEW_RECORD", "ON_UPDATE_RECORD"] | None = None,
    status: Literal["ENABLED", "DISABLED"] | None = None,
) -> Table:
    """Rename a table or change its automation trigger/status."""
    get_run_logger().info("Updating Imbrace table %s.", table_id)
    with client_of(imbrace_credentials) as client:
        return client.workflows.update_table(
            table_id=table_id, name=name, trigger=trigger, status=status
        )


@task(name="Update Imbrace table", cache_policy=NO_CACHE)
async def aupdate_table(
    imbrace_credentials: ImbraceCredentials,
    table_id: str,
    name: str | None = None,
    trigger: Literal["ON_NEW_RECORD", "ON_UPDATE_RECORD"] | None = None,
    status: Literal["ENABLED", "DISABLED"] | None = None,
) -> Table:
    """Async twin of `update_table`."""
    get_run_logger().info("Updating Imbrace table %s.", table_id)
    async with async_client_of(imbrace_credentials) as client:
        return await client.workflows.update_table(
            table_id=table_id, name=name, trigger=trigger, status=status
        )


@task(name="Delete Imbrace table", cache_policy=NO_CACHE)
def delete_table(imbrace_credentials: ImbraceCredentials, table_id: str) -> None:
    """Delete a table and its records."""
    get_run_logger().info("Deleting Imbrace table %s.", table_id)
    with client_of(imbrace_credentials) as client:
        client.workflows.delete_table(table_id=table_id)


@task(name="Delete Imbrace table", cache_policy=NO_CACHE)
async def adelete_table(imbrace_credentials: ImbraceCredentials, table_id: str) -> None:
    """Async twin of `delete_table`."""
    get_run_logger().info("Deleting Imbrace table %s.", table_id)
    async with async_client_of(imbrace_credentials) as client:
        await client.workflows.delete_table(table_id=table_id)


@task(name="List Imbrace table fields", cache_policy=NO_CACHE)
def list_fields(imbrace_credentials: ImbraceCredentials, table_id: str) -> list[Field]:
    """The fields (columns) of a table."""
    get_run_logger().info("Listing fields of Imbrace table %s.", table_id)
    with client_of(imbrace_credentials) as client:
        return client.workflows.list_fields(table_id=table_id)


@task(name="List Imbrace table fields", cache_policy=NO_CACHE)
async def alist_fields(imbrace_credentials: ImbraceCredentials, table_id: str) -> list[Field]:
    """Async twin of `list_fields`."""
    get_run_logger().info("Listing fields of Imbrace table %s.", table_id)
    async with async_client_of(imbrace_credentials) as client:
        return await client.workflows.list_fields(table_id=table_id)


@task(name="Create Imbrace table field", cache_policy=NO_CACHE)
def create_field(
    imbrace_credentials: ImbraceCredentials,
    table_id: str,
    name: str,
    type: Literal["TEXT", "NUMBER", "DATE", "STATIC_DROPDOWN"] = "TEXT",
    options: Iterable[str] | None = None,
) -> Field:
    """Add a field (TEXT, NUMBER, DATE or STATIC_DROPDOWN with `options`)."""
    get_run_logger().info("Adding field %r to Imbrace table %s.", name, table_id)
    with client_of(imbrace_credentials) as client:
        return client.workflows.create_field(
            table_id=table_id, name=name, type=type, options=options
        )


@task(name="Create Imbrace table field", cache_policy=NO_CACHE)
async def acreate_field(
    imbrace_credentials: ImbraceCredentials,
    table_id: str,
    name: str,
    type: Literal["TEXT", "NUMBER", "DATE", "STATIC_DROPDOWN"] = "TEXT",
    options: Iterable[str] | None = None,
) -> Field:
    """Async twin of `create_field`."""
    get_run_logger().info("Adding field %r to Imbrace table %s.", name, table_id)
    async with async_client_of(imbrace_credentials) as client:
        return await client.workflows.create_field(
            table_id=table_id, name=name, type=type, options=options
        )


@task(name="List Imbrace records", cache_policy=NO_CACHE)
def list_records(
    imbrace_credentials: ImbraceCredentials,
    table_id: str,
    limit: int = 10,
    cursor: str | None = None,
    filters: Iterable[Mapping[str, Any]] | None = None,
) -> SeekPage[Record]:
    """The first `limit` records of a table matching `filters` (oldest first)."""
    get_run_logger().info("Listing records of Imbrace table %s.", table_id)
    with client_of(imbrace_credentials) as client:
        return client.workflows.list_records(table_id, limit, cursor, filters=filters)


@task(name="List Imbrace records", cache_policy=NO_CACHE)
async def alist_records(
    imbrace_credentials: ImbraceCredentials,
    table_id: str,
    limit: int = 10,
    cursor: str | None = None,
    filters: Iterable[Mapping[str, Any]] | None = None,
) -> SeekPage[Record]:
    """Async twin of `list_records`."""
    get_run_logger().info("Listing records of Imbrace table %s.", table_id)
    async with async_client_of(imbrace_credentials) as client:
        return await client.workflows.list_records(table_id, limit, cursor, filters=filters)


@task(name="Get Imbrace record", cache_policy=NO_CACHE)
def get_record(imbrace_credentials: ImbraceCredentials, record_id: str) -> Record:
    """One table record with its cells."""
    get_run_logger().info("Reading Imbrace record %s.", record_id)
    with client_of(imbrace_credentials) as client:
        return client.workflows.get_record(record_id=record_id)


@task(name="Get Imbrace record", cache_policy=NO_CACHE)
async def aget_record(imbrace_credentials: ImbraceCredentials, record_id: str) -> Record:
    """Async twin of `get_record`."""
    get_run_logger().info("Reading Imbrace record %s.", record_id)
    async with async_client_of(imbrace_credentials) as client:
        return await client.workflows.get_record(record_id=record_id)


@task(name="Create Imbrace records", cache_policy=NO_CACHE)
def create_records(
    imbrace_credentials: ImbraceCredentials, table_id: str, records: Sequence[Cells]
) -> list[Record]:
    """Insert records; each is a mapping field id -> value (or a list of cells)."""
    get_run_logger().info("Inserting %s records into Imbrace table %s.", len(records), table_id)
    with client_of(imbrace_credentials) as client:
        return client.workflows.create_records(table_id=table_id, records=records)


@task(name="Create Imbrace records", cache_policy=NO_CACHE)
async def acreate_records(
    imbrace_credentials: ImbraceCredentials, table_id: str, records: Sequence[Cells]
) -> list[Record]:
    """Async twin of `create_records`."""
    get_run_logger().info("Inserting %s records into Imbrace table %s.", len(records), table_id)
    async with async_client_of(imbrace_credentials) as client:
        return await client.workflows.create_records(table_id=table_id, records=records)


@task(name="Update Imbrace record", cache_policy=NO_CACHE)
def update_record(
    imbrace_credentials: ImbraceCredentials,
    record_id: str,
    table_id: str,
    cells: Cells | None = None,
) -> Record:
    """Change cells of one record."""
    get_run_logger().info("Updating Imbrace record %s.", record_id)
    with client_of(imbrace_credentials) as client:
        return client.workflows.update_record(record_id=record_id, table_id=table_id, cells=cells)


@task(name="Update Imbrace record", cache_policy=NO_CACHE)
async def aupdate_record(
    imbrace_credentials: ImbraceCredentials,
    record_id: str,
    table_id: str,
    cells: Cells | None = None,
) -> Record:
    """Async twin of `update_record`."""
    get_run_logger().info("Updating Imbrace record %s.", record_id)
    async with async_client_of(imbrace_credentials) as client:
        return await client.workflows.update_record(
            record_id=record_id, table_id=table_id, cells=cells
        )


@task(name="Delete Imbrace records", cache_policy=NO_CACHE)
def delete_records(imbrace_credentials: ImbraceCredentials, ids: list[str]) -> None:
    """Delete records by id."""
    get_run_logger().info("Deleting %s Imbrace records.", len(ids))
    with client_of(imbrace_credentials) as client:
        client.workflows.delete_records(ids=ids)


@task(name="Delete Imbrace records", cache_policy=NO_CACHE)
async def adelete_records(imbrace_credentials: ImbraceCredentials, ids: list[str]) -> None:
    """Async twin of `delete_records`."""
    get_run_logger().info("Deleting %s Imbrace records.", len(ids))
    async with async_client_of(imbrace_credentials) as client:
        await client.workflows.delete_records(ids=ids)
