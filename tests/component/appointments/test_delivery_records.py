"""Webhook delivery records and appointment markers (docs/spec.md#23-post-apiwebhooksappointments)
against Azurite and the Dataverse emulator, through the app's handler: a known webhook-id is
answered from its record without a Dataverse request, a late retry cannot bring back an older
state (no version column), not even one whose record could not be written, records and markers
expire, and a storage outage is a 503 that leaves nothing a redelivery would not complete.

Storage outages that hit chosen requests only go through a relay in front of Azurite's table
endpoint (tests/support/counting_proxy.py) that drops the requests a test names."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from entry.composition_root import CompositionRoot
from integration.appointments.appointment_record import CustomerRef, version_text
from integration.appointments.delivery_records import (
    RETENTION,
    TABLE,
    AppointmentMarkers,
    DeliveryRecords,
    delete_expired,
    expired,
    expired_candidates,
    marker_key,
    purge_expired,
    record_key,
)
from integration.appointments.keys import appointment_row_id
from integration.appointments.sync import SyncOutcome
from tests.support.azurite import ACCOUNT, ACCOUNT_KEY
from tests.support.counting_proxy import CountingRelay, counting_relays
from tests.support.handlers import Answer, Deliver, Handler, app_handler, call_handler, webhook_request
from tests.support.settings import VERSION_COLUMN
from tests.support.webhooks import event, signed_headers

T1 = dict(updatedAt="2026-01-15T14:03:20Z", start="2026-01-20T15:00:00-05:00", end="2026-01-20T15:30:00-05:00")
T2 = dict(updatedAt="2026-01-16T09:00:00Z", start="2026-01-21T10:00:00+01:00", end="2026-01-21T11:15:00+01:00")
T1_START, T2_START = "2026-01-20T20:00:00Z", "2026-01-21T09:00:00Z"


@pytest.fixture
def storage_settings(app_settings: dict[str, str], azurite: Any) -> dict[str, str]:
    """The app's settings with Azurite as its storage account (no version column)."""
    app_settings["AzureWebJobsStorage"] = azurite.connection_string
    return app_settings


def stored_records(azurite: Any, kind: str | None = None) -> list[dict[str, Any]]:
    """The table's rows as the raw SDK reads them (none when the table does not exist yet): delivery
    records (``kind="record"``), appointment markers (``"marker"``) or both."""
    from azure.core.exceptions import ResourceNotFoundError
    from azure.data.tables import TableClient

    try:
        rows = list(TableClient.from_connection_string(azurite.connection_string, TABLE).list_entities())
    except ResourceNotFoundError:
        return []
    markers = [row for row in rows if row["PartitionKey"].startswith("appointment-")]
    return {"marker": markers, "record": [row for row in rows if row not in markers]}.get(kind or "", rows)


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
    [record] = stored_records(azurite, kind="record")
    assert (record["PartitionKey"], record["RowKey"]) == record_key("msg_once")
    assert record["appointment"] == first.body["appointment"]
    assert record["expiresAt"] - record["appliedAt"] == RETENTION

    dataverse.clear_log()
    again = await deliver(*signed(event(), "msg_once"))
    assert again.status == 200
    assert again.body == {"result": "unchanged", "appointment": first.body["appointment"],
                          "regarding": first.body["regarding"]}
    assert dataverse.requests == [], "nothing read from or written to Dataverse"
    assert len(stored_records(azurite, kind="record")) == 1


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
        markers = AppointmentMarkers(storage, clock=lambda: now - RETENTION - timedelta(minutes=5))
        row_id = appointment_row_id("bookings", "apt_purge")
        await records.add("msg_again", outcome, now - RETENTION - timedelta(minutes=5))
        await records.add("msg_gone", outcome, now - RETENTION - timedelta(minutes=5))
        assert await markers.claim(row_id, datetime(2026, 1, 15, tzinfo=timezone.utc))

        candidates = await expired_candidates(storage, now)
        assert len(candidates) == 3
        await records.add("msg_again", outcome, now)  # delivered again: the expired record is written afresh
        await AppointmentMarkers(storage).claim(row_id, datetime(2026, 1, 16, tzinfo=timezone.utc))  # moved forward

        assert await delete_expired(storage, candidates, now) == 1
        assert sorted(r["RowKey"] for r in stored_records(azurite)) == sorted([record_key("msg_again")[1], row_id])
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


class RelayedApp:
    """The app's webhook handler with its table requests through a relay that can refuse them."""

    def __init__(self, handler: Handler, table: CountingRelay) -> None:
        self.handler, self.table = handler, table

    async def deliver(self, body: bytes, msg_id: str) -> Answer:
        """A delivery signed now, as a sender signs each attempt (a retry gets a fresh timestamp)."""
        return await call_handler(self.handler, webhook_request(body, signed_headers(body, msg_id=msg_id)))

    async def deliver_refusing(self, body: bytes, msg_id: str, refuse: Callable[[str, str], bool]) -> Answer:
        """A delivery during which the table requests ``refuse`` picks fail (the account unreachable for them)."""
        self.table.refuse, refused_before = refuse, self.table.refused
        try:
            answer = await self.deliver(body, msg_id)
        finally:
            self.table.refuse = None
        assert self.table.refused > refused_before, "the outage was meant to hit a request"
        return answer


@asynccontextmanager
async def relayed_app(settings: dict[str, str], azurite: Any) -> AsyncIterator[RelayedApp]:
    with counting_relays(azurite.table_endpoint) as [table]:
        relayed = (f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={ACCOUNT_KEY};"
                   f"BlobEndpoint={azurite.blob_endpoint};QueueEndpoint={azurite.queue_endpoint};"
                   f"TableEndpoint={table.url};")
        root = CompositionRoot({**settings, "AzureWebJobsStorage": relayed}, storage_options={"timeout": 2.0})
        try:
            yield RelayedApp(app_handler(root, "appointment_webhook"), table)
        finally:
            await root.aclose()


def body_of(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload).encode()


def once_applied(dataverse: Any) -> Callable[[str, str], bool]:
    """Refuse inserts into the table once the appointment is in Dataverse: the record's, not the marker's."""
    return lambda method, path: method == "POST" and bool(dataverse.rows("appointments"))


async def test_when_recording_fails_after_applying_the_answer_is_503_and_a_redelivery_completes_it(
    storage_settings: dict[str, str], dataverse: Any, azurite: Any
) -> None:
    body = body_of(event())
    async with relayed_app(storage_settings, azurite) as app:
        first = await app.deliver_refusing(body, "msg_unrecorded", once_applied(dataverse))
        assert first.status == 503 and first.body["title"] == "Storage unavailable" and "Retry-After" in first.headers
        applied = appointment_row(dataverse)
        assert stored_records(azurite, kind="record") == []

        again = await app.deliver(body, "msg_unrecorded")
    assert again.status == 200 and again.body["result"] == "unchanged"
    assert again.body["appointment"] == applied["activityid"]
    assert appointment_row(dataverse) == applied
    assert [r["RowKey"] for r in stored_records(azurite, kind="record")] == [record_key("msg_unrecorded")[1]]


async def test_a_late_retry_whose_record_failed_does_not_bring_back_an_older_state(
    storage_settings: dict[str, str], dataverse: Any, azurite: Any
) -> None:
    """The older event is applied but its record cannot be written (503); a newer event is applied;
    the sender's late retry of the older one is not on record, yet must not revert the newer state."""
    assert "APPOINTMENT_VERSION_COLUMN" not in storage_settings
    older = body_of(event(type_="appointment.updated", **T1))
    async with relayed_app(storage_settings, azurite) as app:
        first = await app.deliver_refusing(older, "msg_older", once_applied(dataverse))
        assert first.status == 503
        assert appointment_row(dataverse)["scheduledstart"] == T1_START

        newer = await app.deliver(body_of(event(type_="appointment.updated", **T2)), "msg_newer")
        assert newer.status == 200 and newer.body["result"] == "updated"
        held = appointment_row(dataverse)
        dataverse.clear_log()

        late = await app.deliver(older, "msg_older")
    assert late.status == 200
    assert late.body == {"result": "stale", "appointment": newer.body["appointment"], "regarding": newer.body["regarding"]}
    assert appointment_row(dataverse) == held and held["scheduledstart"] == T2_START
    assert [r.method for r in dataverse.requests] == ["POST"], "one $batch read, nothing written"
    [marker] = stored_records(azurite, kind="marker")
    assert marker["updatedAt"] == "2026-01-16T09:00:00.000000Z"


async def test_with_the_version_column_the_marker_and_the_column_agree(
    storage_settings: dict[str, str], versioned: str, dataverse: Any, azurite: Any
) -> None:
    older = body_of(event(type_="appointment.updated", **T1))
    async with relayed_app(storage_settings, azurite) as app:
        assert (await app.deliver_refusing(older, "msg_older", once_applied(dataverse))).status == 503
        assert (await app.deliver(body_of(event(type_="appointment.updated", **T2)), "msg_newer")).status == 200
        late = await app.deliver(older, "msg_older")
    assert late.body["result"] == "stale"
    row = appointment_row(dataverse)
    [marker] = stored_records(azurite, kind="marker")
    assert row[VERSION_COLUMN] == marker["updatedAt"] == "2026-01-16T09:00:00.000000Z"
    assert row["scheduledstart"] == T2_START


async def test_a_marker_outage_is_503_before_anything_is_written_and_the_retry_applies_it(
    storage_settings: dict[str, str], dataverse: Any, azurite: Any
) -> None:
    body = body_of(event(type_="appointment.updated", **T2))
    async with relayed_app(storage_settings, azurite) as app:
        # the marker's requests: reads name its key in the path; for a new appointment the claim is an insert
        # (POST to the table), the first POST of the delivery, since the record is inserted only after applying
        def marker_requests(method: str, path: str) -> bool:
            return "appointment-" in path or (method == "POST" and path.rstrip("/").endswith("/webhookdeliveries"))

        first = await app.deliver_refusing(body, "msg_marker_down", marker_requests)
        assert first.status == 503 and first.body["title"] == "Storage unavailable"
        assert dataverse.rows("appointments") == [] and [r.method for r in dataverse.requests] == ["POST"]
        assert stored_records(azurite) == []

        again = await app.deliver(body, "msg_marker_down")
    assert again.status == 200 and again.body["result"] == "created"
    assert appointment_row(dataverse)["scheduledstart"] == T2_START


async def test_a_marker_only_moves_forward_even_under_concurrent_claims(azurite: Any) -> None:
    from storage_client import StorageAccount, storage_connection

    t1, t2, t3 = (datetime(2026, 1, 15, 14, 3, 20, 123456, tzinfo=timezone.utc) + timedelta(hours=h) for h in (0, 1, 2))
    storage = StorageAccount(storage_connection({"AzureWebJobsStorage": azurite.connection_string}))
    try:
        markers = AppointmentMarkers(storage)
        row_id = appointment_row_id("bookings", "apt_forward")
        assert await markers.claim(row_id, t2) is True
        assert await markers.claim(row_id, t1) is False, "older than the marker"
        assert await markers.claim(row_id, t2) is True, "equal: a retry of the same event proceeds"
        [marker] = stored_records(azurite, kind="marker")
        assert (marker["PartitionKey"], marker["RowKey"]) == marker_key(row_id)
        assert marker["updatedAt"] == version_text(t2)
        assert await markers.claim(row_id, t3) is True
        assert await markers.claim(row_id, t2) is False
        assert stored_records(azurite, kind="marker")[0]["updatedAt"] == version_text(t3)

        # unreadable: treated as absent and overwritten, with the ETag read
        table = storage.table(TABLE)
        await table.upsert({"PartitionKey": marker_key(row_id)[0], "RowKey": row_id, "updatedAt": "yesterday"})
        assert await markers.claim(row_id, t1) is True
        assert stored_records(azurite, kind="marker")[0]["updatedAt"] == version_text(t1)

        # racing claims for fresh appointments: whichever order storage sees them in, the newest stays
        racing = [appointment_row_id("bookings", f"apt_race_{i}") for i in range(20)]
        outcomes = await asyncio.gather(*(markers.claim(r, t) for r in racing for t in (t3, t1, t2)))
        assert sum(outcomes) >= len(racing)
        stored = {m["RowKey"]: m["updatedAt"] for m in stored_records(azurite, kind="marker")}
        assert all(stored[r] == version_text(t3) for r in racing)
    finally:
        await storage.aclose()


async def test_storage_requests_per_delivery(storage_settings: dict[str, str]) -> None:
    """The storage transactions a delivery costs (docs/storage.md prices them): the first one of a
    process also creates the table; then a new id is a read of its record, the marker's insert for
    a new appointment (no read: it cannot have a marker yet, and a refused insert reads it), else a
    read of the marker and its update (none when it already holds the event's updatedAt), and the
    record's insert; a repeated id one read; a stale event two reads and the record."""
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

    # create table (once per process), record lookup, marker insert (a new appointment: no marker read), record insert
    assert await deliver("msg_a") == ["POST", "GET", "POST", "POST"]
    # record lookup, marker read, marker update (ETag-guarded merge), record insert
    assert await deliver("msg_b", type_="appointment.updated", **T2) == ["GET", "GET", "PATCH", "POST"]
    assert await deliver("msg_a") == ["GET"]
    # a new id for an event already started: the marker holds its updatedAt, no marker write
    assert await deliver("msg_b2", type_="appointment.updated", **T2) == ["GET", "GET", "POST"]
    # an older event under a new id: record lookup, marker read, record insert (answered stale)
    assert await deliver("msg_c", type_="appointment.updated", **T1) == ["GET", "GET", "POST"]
    assert await deliver("msg_other", type_="invoice.paid") == []
    await root.aclose()
