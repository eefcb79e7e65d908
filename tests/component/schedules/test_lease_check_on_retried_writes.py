"""A job step's lease check (``import_schedule(before_write=...)``) must guard every write to Dataverse.

The writer re-sends parts of a refused chunk itself (halves of a chunk refused for one row, the
missing and changed rows of a chunk refused as a duplicate); those writes go to Dataverse as much
as the chunk did, so each needs the check too: a lease lost while the chunk was written must stop them.
"""

from __future__ import annotations

import json

import httpx
import pytest

from dataverse import DataverseClient
from integration.schedules.importer import import_schedule
from integration.schedules.payload import validate_import
from storage_client.errors import LeaseLost
from tests.component.schedules.importing import FAST_RETRY, Tampered, seed_users
from tests.support.settings import sample_schedule

BOOKINGS = "bookableresourcebookings"
CREATE_BOOKINGS = "bookableresourcebookings/Microsoft.Dynamics.CRM.CreateMultiple"


class LeaseLostAfterFirstWrite:
    """The check a job step passes (its agents' leases): valid for the first write, lost from then on."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self) -> None:
        self.calls += 1
        if self.calls > 1:
            raise LeaseLost("the agent's lease was lost while the first chunk was written")


async def test_halves_of_a_refused_chunk_are_not_written_after_the_lease_is_lost(dataverse, client):
    seed_users(dataverse, ["a.smith@contoso.com", "s.lee@contoso.com"])
    schedule = validate_import(sample_schedule())
    # The four bookings go in one chunk; it is refused (400), and so would be its halves.
    dataverse.faults.fail(3, status=400, path=CREATE_BOOKINGS)
    check = LeaseLostAfterFirstWrite()

    with pytest.raises(LeaseLost):
        await import_schedule(client, schedule, before_write=check)

    # Only the first chunk went out under a valid lease; its halves must wait for the step's next delivery.
    assert dataverse.count(path=CREATE_BOOKINGS) == 1
    assert dataverse.rows(BOOKINGS) == []


async def test_missing_rows_of_a_duplicate_chunk_are_not_written_after_the_lease_is_lost(dataverse):
    seed_users(dataverse, ["a.smith@contoso.com", "s.lee@contoso.com"])
    schedule = validate_import(sample_schedule())

    def concurrent_import(number: int, request: httpx.Request) -> None:
        if number == 1:  # just before the chunk goes out, another writer creates one of its rows
            row = json.loads(request.content)["Targets"][0]
            dataverse.insert(BOOKINGS, {k: v for k, v in row.items() if k != "@odata.type"})

    check = LeaseLostAfterFirstWrite()
    transport = Tampered(CREATE_BOOKINGS, before=concurrent_import)
    async with DataverseClient(dataverse.url, retry=FAST_RETRY, transport=transport) as client:
        with pytest.raises(LeaseLost):
            await import_schedule(client, schedule, before_write=check)

    # The chunk was refused as a duplicate; creating its three missing rows is a write like any other.
    assert dataverse.count(method="POST", path=CREATE_BOOKINGS) == 1
    assert len(dataverse.rows(BOOKINGS)) == 1  # the concurrent writer's row only

