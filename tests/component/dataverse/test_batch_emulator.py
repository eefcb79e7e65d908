"""$batch and the bulk actions over real HTTP against the Dataverse emulator."""

from __future__ import annotations

import uuid

import pytest

from dataverse import ChangeSet, errors, request_builders


async def test_batch_with_a_changeset_and_a_reference(client, dataverse):
    existing = dataverse.insert("leads", {"lastname": "existing"})
    results = await client.batch([
        request_builders.retrieve("leads", existing, select=["lastname"]),
        ChangeSet([
            request_builders.create("leads", {"lastname": "in batch"}),
            request_builders.create("appointments", {
                "subject": "s", "scheduledstart": "2026-01-20T15:00:00Z", "scheduledend": "2026-01-20T15:30:00Z",
                "regardingobjectid_lead_appointment@odata.bind": "$2",
            }),
        ]),
    ])
    assert [r.status for r in results] == [200, 204, 204]
    assert results[0].json["lastname"] == "existing"
    lead_id, appointment_id = results[1].entity_id, results[2].entity_id
    assert dataverse.row("appointments", appointment_id)["_regardingobjectid_value"] == lead_id
    assert dataverse.count(method="POST") == 1, "a $batch is one request"


async def test_batch_stops_at_the_first_error_unless_told_to_continue(client, dataverse):
    missing = uuid.uuid4()
    items = [request_builders.update("leads", missing, {"subject": "x"}), request_builders.create("leads", {"lastname": "after"})]
    failed, skipped = await client.batch(items)
    assert isinstance(failed.error, errors.NotFound) and not skipped.executed
    assert not [r for r in dataverse.rows("leads") if r.get("lastname") == "after"]
    failed, done = await client.batch(items, continue_on_error=True)
    assert isinstance(failed.error, errors.NotFound) and done.status == 204
    assert len([r for r in dataverse.rows("leads") if r.get("lastname") == "after"]) == 1


async def test_a_failed_changeset_writes_nothing(client, dataverse):
    results = await client.batch([ChangeSet([
        request_builders.create("leads", {"lastname": "rolled back"}),
        request_builders.update("leads", uuid.uuid4(), {"subject": "x"}),
    ])])
    assert all(r.error is not None for r in results)
    assert not [r for r in dataverse.rows("leads") if r.get("lastname") == "rolled back"]


async def test_bulk_operations_in_chunks(client, dataverse):
    rows = [{"lastname": f"bulk{i}", "subject": "bulk"} for i in range(7)]
    ids = await client.create_multiple("leads", "lead", rows, chunk_size=3)
    assert len(ids) == 7 and dataverse.count(method="POST") == 3
    assert [dataverse.row("leads", i)["lastname"] for i in ids] == [f"bulk{i}" for i in range(7)]
    await client.update_multiple("leads", "lead", [{"leadid": i, "subject": "changed"} for i in ids], chunk_size=5)
    assert all(dataverse.row("leads", i)["subject"] == "changed" for i in ids)
    new_id = str(uuid.uuid4())
    await client.upsert_multiple("leads", "lead", [{"leadid": ids[0], "subject": "up"}, {"leadid": new_id, "lastname": "new"}])
    assert dataverse.row("leads", ids[0])["subject"] == "up" and dataverse.row("leads", new_id)["lastname"] == "new"
    assert dataverse.count(method="POST") == 3 + 2 + 1


async def test_bulk_failure_rolls_back_the_chunk(client, dataverse):
    with pytest.raises(errors.BadRequest):
        await client.create_multiple("leads", "lead", [{"lastname": "ok"}, {"lastname": "x" * 51}])
    assert not [r for r in dataverse.rows("leads") if r.get("lastname") == "ok"]
