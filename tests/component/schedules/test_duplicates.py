"""Rows that exist before this import writes them: a concurrent import, or a lost CreateMultiple answer.

Each case is settled for the chunk it hits, with one read of that chunk's ids, never row by row.
"""

from __future__ import annotations

import json

import httpx

from dataverse import DataverseClient
from integration.schedules.bookings import PRIMARY_KEY
from integration.schedules.importer import import_schedule
from integration.schedules.payload import validate_import
from samples.schedules import generate
from tests.component.schedules.importing import FAST_RETRY, Tampered, seed_users
from tests.support import loopback

RESOURCES = "bookableresources"
BOOKINGS = "bookableresourcebookings"
CREATE_MULTIPLE = "/Microsoft.Dynamics.CRM.CreateMultiple"


async def test_a_duplicate_in_one_reference_chunk_is_settled_in_that_chunk_and_counted(dataverse):
    seed_users(dataverse, [generate.email(i) for i in range(25)])
    schedule = validate_import(generate.schedule(agents=25, segments_per_agent=1))

    def concurrent_import(number: int, request: httpx.Request) -> None:
        if number == 2:  # just before the second chunk goes out, another import creates one of its rows
            row = json.loads(request.content)["Targets"][0]
            dataverse.insert(RESOURCES, {k: v for k, v in row.items() if k != "@odata.type"})

    transport = Tampered(f"{RESOURCES}{CREATE_MULTIPLE}", before=concurrent_import)
    async with DataverseClient(dataverse.url, retry=FAST_RETRY, chunk_size=10, transport=transport) as client:
        summary = await import_schedule(client, schedule)

    assert summary.referenceData.resources == 24  # all but the concurrent import's row
    assert len(dataverse.rows(RESOURCES)) == 25
    assert summary.created == 25 and summary.skipped == []
    # Chunks of 10, 10 (refused as a duplicate), 5, then the second chunk's 9 missing rows.
    assert dataverse.count(method="POST", path=RESOURCES) == 4
    assert dataverse.count(method="GET", path=RESOURCES) == 2  # the first read, and the refused chunk's ids


async def test_a_lost_create_answer_costs_one_read_not_a_bisection(dataverse):
    seed_users(dataverse, [generate.email(i) for i in range(10)])
    schedule = validate_import(generate.schedule(agents=10, segments_per_agent=50))  # 500 bookings: one chunk

    transport = Tampered(f"{BOOKINGS}{CREATE_MULTIPLE}", lose={1})  # landed; the client retries, Duplicate
    async with DataverseClient(dataverse.url, retry=FAST_RETRY, transport=transport) as client:
        summary = await import_schedule(client, schedule)

    assert len(dataverse.rows(BOOKINGS)) == 500 and summary.skipped == []
    # Found already holding what this import wants: left alone, and not claimed as created.
    assert (summary.created, summary.updated, summary.unchanged) == (0, 0, 500)
    assert dataverse.count(method="POST", path=BOOKINGS) == 2  # the lost answer and the retry
    assert dataverse.count(method="PATCH", path=BOOKINGS) == 0
    # The first read, then the 500 ids in URL-sized In filters (6 of about 85 ids each).
    assert dataverse.count(method="GET", path=BOOKINGS) <= 8


async def test_after_a_duplicate_only_the_missing_and_the_changed_rows_are_written(dataverse):
    seed_users(dataverse, [generate.email(i) for i in range(2)])
    schedule = validate_import(generate.schedule(agents=2, segments_per_agent=10))

    def meanwhile(number: int, request: httpx.Request) -> None:
        if number == 2:  # before the retry, someone deletes one landed row and renames another
            first, second = json.loads(request.content)["Targets"][:2]
            with loopback.client(base_url=dataverse.api_url) as http:
                http.delete(f"{BOOKINGS}({first[PRIMARY_KEY]})").raise_for_status()
                http.patch(f"{BOOKINGS}({second[PRIMARY_KEY]})", json={"name": "Renamed"}).raise_for_status()

    transport = Tampered(f"{BOOKINGS}{CREATE_MULTIPLE}", before=meanwhile, lose={1})
    async with DataverseClient(dataverse.url, retry=FAST_RETRY, transport=transport) as client:
        summary = await import_schedule(client, schedule)

    assert (summary.created, summary.updated, summary.unchanged, summary.skipped) == (1, 1, 18, [])
    assert "Renamed" not in {row["name"] for row in dataverse.rows(BOOKINGS)}
    assert len(dataverse.rows(BOOKINGS)) == 20
    # Lost, retried (Duplicate), then the one missing row; one UpdateMultiple for the renamed row.
    assert dataverse.count(method="POST", path=f"{BOOKINGS}{CREATE_MULTIPLE}") == 3
    assert dataverse.count(method="POST", path=f"{BOOKINGS}/Microsoft.Dynamics.CRM.UpdateMultiple") == 1
    assert dataverse.count(method="PATCH", path=BOOKINGS) == 1  # the test's own rename
