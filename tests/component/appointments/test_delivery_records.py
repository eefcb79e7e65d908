"""Webhook delivery records (docs/spec.md#23-post-apiwebhooksappointments) against Azurite and the
Dataverse emulator, through the app's handler: a known webhook-id is answered from its record
without a Dataverse request, a late retry cannot bring back an older state (no version column),
records expire, and a storage outage is a 503 that leaves nothing a redelivery would not complete."""

from __future__ import annotations

import asyncio
import json
import signal
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from entry.composition_root import CompositionRoot
from integration.appointments.appointment_record import CustomerRef
from integration.appointments.delivery_records import (
    RETENTION,
    TABLE,
    DeliveryRecords,
    delete_expired,
    expired,
    expired_candidates,
    purge_expired,
    record_key,
)
from integration.appointments.sync import SyncOutcome
from tests.support.handlers import Deliver, app_handler, call_handler, webhook_request
from tests.support.polling import wait_until_async
from tests.support.webhooks import event, signed_headers

T1 = dict(updatedAt="2026-01-15T14:03:20Z", start="2026-01-20T15:00:00-05:00", end="2026-01-20T15:30:00-05:00")
T2 = dict(updatedAt="2026-01-16T09:00:00Z", start="2026-01-21T10:00:00+01:00", end="2026-01-21T11:15:00+01:00")


@pytest.fixture
def storage_settings(app_settings: dict[str, str], azurite: Any) -> dict[str, str]:
    """The app's settings with Azurite as its storage account (no version column)."""
    app_settings["AzureWebJobsStorage"] = azurite.connection_string
    return app_settings


def stored_records(azurite: Any) -> list[dict[str, Any]]:
    """The delivery records as the raw SDK reads them (none when the table does not exist yet)."""
    from azure.core.exceptions import ResourceNotFoundError
    from azure.data.tables import TableClient

    try:
        return list(TableClient.from_connection_string(azurite.connection_string, TABLE).list_entities())
    except ResourceNotFoundError:
        return []


def signed(payload: dict[str, Any], msg_id: str) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(payload).encode()
    return body, signed_headers(body, msg_id=msg_id)


def appointment_row(dataverse: Any) -> dict[str, Any]:
    [row] = dataverse.rows("appointments")
    return row


async def test_a_repeated_webhook_id_is_answered_from_its_record_without_dataverse(
    storage_settings: dict[str, str], deliver: Deliver, dataverse: Any, azurite: Any
) -> None:
    first = await deliver(*signed(event(), "msg_once"))
    assert first.status == 200 and first.body["result"] == "created"
    [record] = stored_records(azurite)
    assert (record["PartitionKey"], record["RowKey"]) == record_key("msg_once")
    assert record["appointment"] == first.body["appointment"]
    assert record["expiresAt"] - record["appliedAt"] == RETENTION

    dataverse.clear_log()
    again = await deliver(*signed(event(), "msg_once"))
    assert again.status == 200
    assert again.body == {"result": "unchanged", "appointment": first.body["appointment"],
                          "regarding": first.body["regarding"]}
    assert dataverse.requests == [], "nothing read from or written to Dataverse"
    assert len(stored_records(azurite)) == 1


async def test_a_late_retry_of_an_older_event_does_not_bring_back_its_state_without_a_version_column(
    storage_settings: dict[str, str], deliver: Deliver, dataverse: Any
) -> None:
    assert "APPOINTMENT_VERSION_COLUMN" not in storage_settings
    created = await deliver(*signed(event(**T1), "msg_t1"))
    updated = await deliver(*signed(event(type_="appointment.updated", **T2), "msg_t2"))
    assert (created.body["result"], updated.body["result"]) == ("created", "updated")
    newest = appointment_row(dataverse)

    late = await deliver(*signed(event(**T1), "msg_t1"))  # the sender retries the first delivery late
    assert late.body["result"] == "unchanged"
    assert appointment_row(dataverse) == newest
    assert newest["scheduledstart"] == "2026-01-21T09:00:00Z"


async def test_without_storage_the_same_late_retry_is_applied_again(deliver: Deliver, dataverse: Any) -> None:
    """The contrast that makes the test above mean something: no records, no version column, the old state returns."""
    await deliver(*signed(event(**T1), "msg_t1"))
    await deliver(*signed(event(type_="appointment.updated", **T2), "msg_t2"))
    late = await deliver(*signed(event(type_="appointment.updated", **T1), "msg_t1"))
    assert late.body["result"] == "updated"
    assert appointment_row(dataverse)["scheduledstart"] == "2026-01-20T20:00:00Z"


async def test_ignored_event_types_are_not_recorded(storage_settings: dict[str, str], deliver: Deliver,
                                                    azurite: Any) -> None:
    answer = await deliver(*signed({"type": "invoice.paid", "data": {}}, "msg_other"))
    assert answer.body == {"result": "ignored"}
    assert stored_records(azurite) == []


async def test_purge_removes_only_expired_records(azurite: Any) -> None:
    from storage_client import StorageAccount, storage_connection

    now = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)
    outcome = SyncOutcome("created", "0f8fad5b-d9cb-469f-a165-70867728950e",
                          CustomerRef("lead", "7c9e6679-7425-40de-944b-e07fc1f90ae7"))
    storage = StorageAccount(storage_connection({"AzureWebJobsStorage": azurite.connection_string}))
    try:
        records = DeliveryRecords(storage)
        await records.add("msg_old", outcome, now - RETENTION - timedelta(minutes=1))
        await records.add("msg_edge", outcome, now - RETENTION + timedelta(seconds=1))
        await records.add("msg_new", outcome, now)
        assert await records.find("msg_old", now) is None, "past retention counts as unknown even before the purge"
        assert await records.find("msg_edge", now) is not None

        assert await purge_expired(storage, now) == 1
        assert sorted(r["RowKey"] for r in stored_records(azurite)) == sorted(
            record_key(m)[1] for m in ("msg_edge", "msg_new"))
        assert await purge_expired(storage, now) == 0
    finally:
        await storage.aclose()


def test_expired_is_decided_by_expires_at_alone() -> None:
    now = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)
    rows = [
        {"PartitionKey": "a", "RowKey": "past", "expiresAt": now - timedelta(seconds=1)},
        {"PartitionKey": "a", "RowKey": "now", "expiresAt": now},
        {"PartitionKey": "b", "RowKey": "future", "expiresAt": now + timedelta(hours=1)},
        {"PartitionKey": "b", "RowKey": "unreadable", "expiresAt": "yesterday"},
    ]
    assert expired(rows, now) == [rows[0]]


async def test_the_purge_keeps_a_row_written_again_after_its_query(azurite: Any) -> None:
    """An expired id delivered again between the purge's query and its delete gets a fresh
    expiresAt; the delete, conditional on the ETag the query read, must spare it."""
    from storage_client import StorageAccount, storage_connection

    now = datetime.now(timezone.utc)
    outcome = SyncOutcome("updated", "0f8fad5b-d9cb-469f-a165-70867728950e",
                          CustomerRef("contact", "7c9e6679-7425-40de-944b-e07fc1f90ae7"))
    storage = StorageAccount(storage_connection({"AzureWebJobsStorage": azurite.connection_string}))
    try:
        records = DeliveryRecords(storage)
        await records.add("msg_again", outcome, now - RETENTION - timedelta(minutes=5))
        await records.add("msg_gone", outcome, now - RETENTION - timedelta(minutes=5))

        candidates = await expired_candidates(storage, now)
        assert len(candidates) == 2
        await records.add("msg_again", outcome, now)  # delivered again: the expired record is written afresh

        assert await delete_expired(storage, candidates, now) == 1
        assert [r["RowKey"] for r in stored_records(azurite)] == [record_key("msg_again")[1]]
        assert await purge_expired(storage, now) == 0
        assert await records.find("msg_again", now) is not None
    finally:
        await storage.aclose()


async def test_storage_down_is_503_with_retry_after_and_dataverse_untouched(
    app_settings: dict[str, str], deliver: Deliver, dataverse: Any
) -> None:
    closed = ";".join(f"{s}Endpoint=http://127.0.0.1:9/devstoreaccount1" for s in ("Blob", "Queue", "Table"))
    app_settings["AzureWebJobsStorage"] = (
        "AccountName=devstoreaccount1;AccountKey=RXZlbiBhIHRlc3Qga2V5IGlzIG5vdCBwcmludGVk;" + closed)
    answer = await deliver(*signed(event(), "msg_down"))
    assert answer.status == 503 and int(answer.headers["Retry-After"]) >= 1
    assert answer.body["title"] == "Storage unavailable"
    assert dataverse.requests == []


async def test_when_recording_fails_after_applying_the_answer_is_503_and_a_redelivery_completes_it(
    storage_settings: dict[str, str], dataverse: Any, azurite: Any
) -> None:
    """Azurite is paused (SIGSTOP) while the event is being applied, so only the record's write fails."""
    root = CompositionRoot(storage_settings, storage_options={"timeout": 1.0})
    handler = app_handler(root, "appointment_webhook")
    body, _ = signed(event(), "msg_paused")
    dataverse.latency = 0.3
    delivery = asyncio.create_task(call_handler(handler, webhook_request(body, signed_headers(body, msg_id="msg_paused"))))
    try:
        await wait_until_async(lambda: dataverse.count() > 0, what="the sync to start (the lookup is done)")
        azurite.process.send_signal(signal.SIGSTOP)
        first = await delivery
    finally:
        azurite.process.send_signal(signal.SIGCONT)
        dataverse.latency = 0
    assert first.status == 503 and first.body["title"] == "Storage unavailable" and "Retry-After" in first.headers
    applied = appointment_row(dataverse)

    again = await call_handler(handler, webhook_request(body, signed_headers(body, msg_id="msg_paused")))
    assert again.status == 200 and again.body["result"] == "unchanged"
    assert again.body["appointment"] == applied["activityid"]
    assert appointment_row(dataverse) == applied
    assert [r["RowKey"] for r in stored_records(azurite)] == [record_key("msg_paused")[1]]
    await root.aclose()


async def test_storage_requests_per_delivery(storage_settings: dict[str, str]) -> None:
    """The storage transactions a delivery costs (docs/storage.md prices them): the first one of a
    process also creates the table; then a new id is a read and an insert, a repeated id one read."""
    requests: list[str] = []
    root = CompositionRoot(storage_settings, storage_options={
        "client_options": {"raw_request_hook": lambda pipeline: requests.append(pipeline.http_request.method)}})
    handler = app_handler(root, "appointment_webhook")

    async def deliver(msg_id: str, **data: Any) -> list[str]:
        requests.clear()
        body = json.dumps(event(**data)).encode()
        answer = await call_handler(handler, webhook_request(body, signed_headers(body, msg_id=msg_id)))
        assert answer.status == 200, answer.body
        return list(requests)

    assert await deliver("msg_a") == ["POST", "GET", "POST"]  # create table (once per process), lookup, record
    assert await deliver("msg_b", type_="appointment.updated", **T2) == ["GET", "POST"]
    assert await deliver("msg_a") == ["GET"]
    assert await deliver("msg_other", type_="invoice.paid") == []
    await root.aclose()
