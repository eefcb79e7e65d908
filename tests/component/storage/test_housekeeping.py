"""background/housekeeping.py: the hourly timer purges expired webhook delivery records and
appointment markers, run the way the host calls it (the registered function, a TimerRequest);
registered only with storage."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import azure.functions as func
from azure.functions.timer import TimerRequest

import background
from entry.composition_root import CompositionRoot
from integration.appointments.appointment_record import CustomerRef
from integration.appointments.delivery_records import RETENTION, AppointmentMarkers, DeliveryRecords, record_key
from integration.appointments.sync import SyncOutcome


def background_functions(root: CompositionRoot) -> dict[str, Any]:
    app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)
    background.register(app, root)
    return {f.get_function_name(): f.get_user_function() for f in app.get_functions()}


def test_without_storage_no_background_function_is_registered(app_settings: dict[str, str]) -> None:
    assert background_functions(CompositionRoot(app_settings)) == {}


async def test_the_timer_deletes_only_records_past_their_retention(app_settings: dict[str, str], azurite: Any) -> None:
    from azure.data.tables import TableClient

    root = CompositionRoot({**app_settings, "AzureWebJobsStorage": azurite.connection_string})
    timer = background_functions(root)["purge_webhook_deliveries"]
    outcome = SyncOutcome("created", "0f8fad5b-d9cb-469f-a165-70867728950e",
                          CustomerRef("contact", "7c9e6679-7425-40de-944b-e07fc1f90ae7"))
    records = DeliveryRecords(root.dependencies().storage)
    now = datetime.now(timezone.utc)
    await records.add("msg_expired", outcome, now - RETENTION - timedelta(hours=1))
    await records.add("msg_recent", outcome, now - timedelta(hours=1))
    storage = root.dependencies().storage
    old_marker, recent_marker = "6f1c2d3e-0000-5000-8000-000000000001", "6f1c2d3e-0000-5000-8000-000000000002"
    updated_at = datetime(2026, 1, 15, tzinfo=timezone.utc)
    await AppointmentMarkers(storage, clock=lambda: now - RETENTION - timedelta(hours=1)).claim(old_marker, updated_at)
    await AppointmentMarkers(storage, clock=lambda: now - timedelta(hours=1)).claim(recent_marker, updated_at)

    await timer(TimerRequest(past_due=False))

    rows = TableClient.from_connection_string(azurite.connection_string, "webhookdeliveries").list_entities()
    assert sorted(row["RowKey"] for row in rows) == sorted([record_key("msg_recent")[1], recent_marker])
    await root.aclose()
