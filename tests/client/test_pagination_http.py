"""`iter_*` follow `next` cursors across 1,000+ items, in order, without gaps or repeats."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from prefect_imbrace.exceptions import ImbraceConfigurationError

pytestmark = pytest.mark.asyncio(loop_scope="session")
TOTAL = 1050


async def test_iterate_1050_folders_sync_and_async(fresh, client, aclient):
    with ThreadPoolExecutor(max_workers=8) as pool:  # one pooled client, shared by threads
        folders = list(
            pool.map(lambda i: client.workflows.create_folder(display_name=f"folder-{i:04d}"), range(TOTAL))
        )
    created = [f.id for f in sorted(folders, key=lambda f: (f.created, f.id))]
    assert len(set(created)) == TOTAL
    before = fresh.control.counters()["requests"].get("GET /activepieces/v1/folders", 0)

    sync_ids = [f.id for f in client.workflows.iter_folders(limit=100)]
    async_ids = [f.id async for f in aclient.workflows.iter_folders(limit=100)]
    assert sync_ids == created  # created ASC, every folder exactly once
    assert async_ids == created
    pages = fresh.control.counters()["requests"]["GET /activepieces/v1/folders"] - before
    assert pages == 2 * 11  # 100 per page -> 11 pages each

    first_250 = [f.id for f in client.workflows.iter_folders(limit=100).take(250)]
    assert first_250 == created[:250]
    assert [
        f.id async for f in aclient.workflows.iter_folders(limit=7).take(15)
    ] == created[:15]

    page = client.workflows.list_folders(limit=1000)
    assert len(page.data) == 1000 and page.next
    rest = client.workflows.list_folders(limit=1000, cursor=page.next)
    assert [f.id for f in page.data + rest.data] == created and rest.next is None and rest.previous


async def test_iterate_flows_newest_update_first(fresh, wf):
    ids = [(await wf.create_flow(display_name=f"f{i}")).id for i in range(25)]
    listed = await wf.collect("iter_flows", limit=10)
    assert [f.id for f in listed] == list(reversed(ids))
    assert await wf.collect("iter_flows", take=0) == []


async def test_bad_max_items(fresh, client):
    with pytest.raises(ImbraceConfigurationError, match="max_items"):
        list(client.workflows.iter_flows().take(-1))


async def test_iter_takes_the_list_parameters_only(fresh, client, aclient, requests_for):
    """`limit` is the page size; an unknown or misspelt argument is refused before any request."""
    for workflows in (client.workflows, aclient.workflows):
        with pytest.raises(ImbraceConfigurationError, match=r"iter_flows\(\) takes .*list_flows.*page_size"):
            workflows.iter_flows(page_size=7)
        with pytest.raises(ImbraceConfigurationError, match="stauts"):
            workflows.iter_runs(stauts="FAILED")
        with pytest.raises(ImbraceConfigurationError, match="`limit` must be"):
            workflows.iter_flows(limit="7")
    assert requests_for(fresh, "GET", "/v1/flows") == 0
    for i in range(3):
        client.workflows.create_folder(display_name=f"f{i}")
    assert len(list(client.workflows.iter_folders(limit=1))) == 3
    assert requests_for(fresh, "GET", "/v1/folders") == 3  # 3 pages of 1, the last without `next`


async def test_walk_stops_at_a_repeated_cursor_and_reads_no_page_past_max_items():
    """The paging loop itself (no HTTP): `iterate` and `aiterate` share it, so both are checked."""
    from prefect_imbrace.client import SeekPage
    from prefect_imbrace.client.pagination import aiterate, iterate

    pages = {None: (["a", "b"], "c1"), "c1": (["c"], "c2"), "c2": (["d"], "c1")}  # c2 -> c1: a loop
    asked: list[str | None] = []

    def fetch(cursor):
        asked.append(cursor)
        data, following = pages[cursor]
        return SeekPage[str](data=data, next=following)

    async def afetch(cursor):
        return fetch(cursor)

    assert list(iterate(fetch)) == ["a", "b", "c", "d"] and asked == [None, "c1", "c2"]
    asked.clear()
    assert [x async for x in aiterate(afetch, max_items=2)] == ["a", "b"] and asked == [None]
    asked.clear()
    assert list(iterate(fetch, start="c1", max_items=0)) == [] and asked == []
