"""Rows that exist before this import writes them: a concurrent import, or a lost CreateMultiple answer.

Each case is settled for the chunk it hits, with one read of that chunk's ids, never row by row.
"""

from __future__ import annotations

import json

import httpx

from dataverse import DataverseClient
from integration.schedules.importer import import_schedule
from integration.schedules.payload import validate_import
from samples.schedules import generate
from tests.schedules.conftest import FAST_RETRY, Tampered, seed_users

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

