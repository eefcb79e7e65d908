"""Desired bookings, deterministic ids and the diff, without Dataverse."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timezone

from integration.schedules.bookings import (
    BOOKING_SETUP_METADATA_ID,
    Booking,
    ResolvedReferences,
    ScopeTest,
    booking_id,
    booking_name,
    desired_bookings,
    diff,
    existing_booking,
)
from integration.schedules.payload import validate_import

T = datetime(2026, 11, 16, 14, tzinfo=timezone.utc)
REFS = ResolvedReferences(
    resources={"iex-1": "11111111-1111-1111-1111-111111111111"},
    activity_types={"phone": "22222222-2222-2222-2222-222222222222", "lunch": "33333333-3333-3333-3333-333333333333"},
    statuses={"scheduled": "44444444-4444-4444-4444-444444444444"},
    plan="55555555-5555-5555-5555-555555555555",
)


def schedule(**extra):
    return validate_import({
        "source": "nice-iex",
        "agents": [
            {"agentId": "iex-1", "name": "Alex Smith", "email": "a@contoso.com", "segments": [
                {"activity": "Phone", "available": True, "status": "Scheduled",
                 "start": "2026-11-16T14:00:00Z", "end": "2026-11-16T16:00:00Z"},
                {"activity": "Lunch", "available": False, "status": "Scheduled", "state": "proposed",
                 "start": "2026-11-16T16:00:00Z", "end": "2026-11-16T16:30:00Z"},
                {"activity": "LUNCH", "available": False, "status": "scheduled",
                 "start": "2026-11-16T17:30:00+01:00", "end": "2026-11-16T17:00:00Z"},
            ]},
            {"agentId": "iex-unknown", "name": "No User", "email": "n@contoso.com", "segments": [
                {"activity": "Phone", "available": True, "status": "Scheduled",
                 "start": "2026-11-16T14:00:00Z", "end": "2026-11-16T16:00:00Z"}]},
        ],
        **extra,
    })


def test_one_booking_per_committed_segment_of_agents_with_a_resource():
    rows = list(desired_bookings(schedule(), REFS))
    assert [r.path for r in rows] == ["$.agents[0].segments[0]", "$.agents[0].segments[2]"]
    phone, lunch = (r.booking for r in rows)
    assert phone.start == "2026-11-16T14:00:00Z" and phone.end == "2026-11-16T16:00:00Z" and phone.duration == 120
    assert lunch.start == "2026-11-16T16:30:00Z" and lunch.duration == 30
    assert lunch.activity_type == REFS.activity_types["lunch"] and lunch.status == REFS.statuses["scheduled"]
    assert phone.name == "Alex Smith - Phone" and phone.plan == REFS.plan


def test_body_has_every_field_and_bind_of_the_contract():
    booking = next(desired_bookings(schedule(), REFS)).booking
    assert booking.body() == {
        "bookableresourcebookingid": booking.id,
        "name": "Alex Smith - Phone",
        "starttime": "2026-11-16T14:00:00Z",
        "endtime": "2026-11-16T16:00:00Z",
        "duration": 120,
        "bookingtype": 1,
        "msdyn_bookingmethod": 690970003,
        "Resource@odata.bind": "/bookableresources(11111111-1111-1111-1111-111111111111)",
        "BookingStatus@odata.bind": "/bookingstatuses(44444444-4444-4444-4444-444444444444)",
        "msdyn_shiftactivitytype@odata.bind": "/msdyn_shiftactivitytypes(22222222-2222-2222-2222-222222222222)",
        "msdyn_shiftplan@odata.bind": "/msdyn_shiftplans(55555555-5555-5555-5555-555555555555)",
        "msdyn_BookingSetupMetadataId@odata.bind": f"/msdyn_bookingsetupmetadatas({BOOKING_SETUP_METADATA_ID})",
    }
    without_plan = dataclasses.replace(booking, plan=None).body()
    assert "msdyn_shiftplan@odata.bind" not in without_plan


def test_ids_are_deterministic_and_depend_on_every_part():
    base = booking_id("nice-iex", "iex-1", T, T.replace(hour=16), "Phone")
    assert base == booking_id("nice-iex", "iex-1", T, T.replace(hour=16), "phone")
    variants = {
        booking_id("other", "iex-1", T, T.replace(hour=16), "Phone"),
        booking_id("nice-iex", "iex-2", T, T.replace(hour=16), "Phone"),
        booking_id("nice-iex", "iex-1", T.replace(hour=15), T.replace(hour=16), "Phone"),
        booking_id("nice-iex", "iex-1", T, T.replace(hour=17), "Phone"),
        booking_id("nice-iex", "iex-1", T, T.replace(hour=16), "Email"),
    }
    assert base not in variants and len(variants) == 5


def test_long_names_are_truncated_to_100():
    name = booking_name("A" * 90, "Inbound phone queue")
    assert len(name) == 100 and name.endswith("…")
    assert booking_name("Alex", "Phone") == "Alex - Phone"


def read_back(booking: Booking) -> dict:
    """The Web API read shape of a booking."""
    return {
        "bookableresourcebookingid": booking.id.upper(), "name": booking.name, "starttime": booking.start,
        "endtime": booking.end, "duration": booking.duration, "bookingtype": 1, "msdyn_bookingmethod": 690970003,
        "_resource_value": booking.resource, "_bookingstatus_value": booking.status,
        "_msdyn_shiftactivitytype_value": booking.activity_type, "_msdyn_shiftplan_value": booking.plan,
        "_msdyn_bookingsetupmetadataid_value": BOOKING_SETUP_METADATA_ID, "@odata.etag": 'W/"1"',
    }


def test_diff_creates_updates_keeps_and_removes_within_scope():
    desired = list(desired_bookings(schedule(), REFS))
    phone, lunch = desired
    resource = REFS.resources["iex-1"]
    stale = dataclasses.replace(phone.booking, id="aaaaaaaa-0000-0000-0000-000000000000")
    outside = dataclasses.replace(phone.booking, id="bbbbbbbb-0000-0000-0000-000000000000", start="2026-11-17T14:00:00Z")
    changed = dataclasses.replace(lunch.booking, status="66666666-6666-6666-6666-666666666666")
    existing = [existing_booking(read_back(b)) for b in (phone.booking, changed, stale, outside)]
    scope = ScopeTest({resource: (T, T.replace(hour=17))})
    changes = diff(desired, existing, scope)
    assert changes.create == [] and changes.unchanged == 1
    assert changes.update == [lunch]
    assert [b.id for b in changes.remove] == [stale.id]


def test_existing_booking_normalises_what_dataverse_returns():
    booking = next(desired_bookings(schedule(), REFS)).booking
    row = read_back(booking) | {"starttime": "2026-11-16T15:00:00+01:00"}
    assert existing_booking(row) == booking
