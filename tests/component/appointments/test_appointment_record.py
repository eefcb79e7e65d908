"""The desired appointment row and the write plan, checked without any I/O."""

from __future__ import annotations

import json
from typing import Any

import pytest

from integration.appointments.appointment_record import (
    CANCELLED,
    COMPLETED,
    AppointmentRecord,
    CustomerRef,
    build_record,
    plan_writes,
    version_text,
)
from integration.appointments.events import AppointmentData, parse_event
from integration.appointments.keys import appointment_row_id, lead_row_id
from tests.support.webhooks import event

LEAD = CustomerRef("lead", "6f1c2b8e-0000-4000-8000-000000000001")
USER = "7a1c2b8e-0000-4000-8000-000000000002"


def data(**changes: Any) -> AppointmentData:
    parsed = parse_event(json.dumps(event(**changes)).encode())
    assert parsed is not None
    return parsed.data


def record(version_column: str | None = "new_bookingversion", organizer: str | None = USER, **changes: Any) -> AppointmentRecord:
    return build_record(
        data(**changes), row_id="r", regarding=LEAD, organizer_id=organizer, version_column=version_column
    )


def stored_as(rec: AppointmentRecord, statecode: int = 0, statuscode: int = 1) -> dict[str, Any]:
    """What Dataverse would return after ``rec`` was written (read shape)."""
    parties = [{"_partyid_value": rec.regarding.id, "participationtypemask": 5}]
    if rec.organizer_id:
        parties.append({"_partyid_value": rec.organizer_id, "participationtypemask": 7})
    parties.append({"_partyid_value": USER, "participationtypemask": 9})
    return {
        **rec.columns,
        "_regardingobjectid_value": rec.regarding.id,
        "statecode": statecode,
        "statuscode": statuscode,
        "appointment_activity_parties": parties,
        "@odata.etag": 'W/"1"',
    }


def test_columns_are_in_utc_with_duration_and_reference() -> None:
    rec = record()
    assert rec.columns["scheduledstart"] == "2026-01-20T20:00:00Z"
    assert rec.columns["scheduledend"] == "2026-01-20T20:30:00Z"
    assert rec.columns["scheduleddurationminutes"] == 30
    assert rec.columns["description"] == "Bring payslips\n\nBooking reference: apt_8412"
    assert rec.columns["new_bookingversion"] == "2026-01-15T14:03:20.000000Z"
    assert rec.state is None


def test_new_row_binds_regarding_and_parties() -> None:
    body = record().new_row()
    assert body["regardingobjectid_lead_appointment@odata.bind"] == f"/leads({LEAD.id})"
    assert body["appointment_activity_parties"] == [
        {"partyid_lead@odata.bind": f"/leads({LEAD.id})", "participationtypemask": 5},
        {"partyid_systemuser@odata.bind": f"/systemusers({USER})", "participationtypemask": 7},
    ]


def test_without_notes_or_subject() -> None:
    rec = record(notes=None, subject=None, location=None, version_column=None)
    assert rec.columns["description"] == "Booking reference: apt_8412"
    assert rec.columns["subject"] == "Booking apt_8412"
    assert rec.columns["location"] is None
    assert "new_bookingversion" not in rec.columns


def test_status_maps_to_state() -> None:
    assert record(status="cancelled").state == CANCELLED
    assert record(status="canceled").state == CANCELLED
    assert record(status="completed").state == COMPLETED


def test_versions_sort_as_text_in_time_order() -> None:
    early = data(updatedAt="2026-01-15T09:03:20.5-05:00").updatedAt
    late = data(updatedAt="2026-01-15T14:03:21Z").updatedAt
    assert version_text(early) < version_text(late)
    assert version_text(early) == "2026-01-15T14:03:20.500000Z"


def test_keys_are_stable_and_email_case_blind() -> None:
    assert appointment_row_id("booking", "apt_1") == appointment_row_id("booking", "apt_1")
    assert appointment_row_id("booking", "apt_1") != appointment_row_id("other", "apt_1")
    assert lead_row_id("booking", " Ana@Example.com") == lead_row_id("booking", "ana@example.com")


def test_new_row_is_written_then_closed() -> None:
    assert plan_writes(record(), None).write_fields
    plan = plan_writes(record(status="cancelled"), None)
    assert (plan.reopen, plan.write_fields, plan.close) == (False, True, CANCELLED)


def test_same_row_needs_no_write() -> None:
    rec = record()
    assert plan_writes(rec, stored_as(rec)).empty
    assert plan_writes(rec, stored_as(rec, 3, 5)).empty  # booked as Scheduled by Dynamics: still open


def test_dates_compare_as_instants() -> None:
    rec = record()
    stored = stored_as(rec)
    stored["scheduledstart"] = "2026-01-20T20:00:00+00:00"
    assert plan_writes(rec, stored).empty


@pytest.mark.parametrize(
    "change",
    [
        {"subject": "Other"},
        {"location": None},
        {"_regardingobjectid_value": "00000000-0000-4000-8000-000000000000"},
        {"new_bookingversion": "2026-01-01T00:00:00.000000Z"},
    ],
)
def test_any_field_difference_is_written(change: dict[str, Any]) -> None:
    rec = record()
    plan = plan_writes(rec, {**stored_as(rec), **change})
    assert (plan.reopen, plan.write_fields, plan.write_parties, plan.close) == (False, True, False, None)
    assert "appointment_activity_parties" not in rec.fields()


@pytest.mark.parametrize(
    "parties",
    [[], [{"_partyid_value": USER, "participationtypemask": 5}], [{"_partyid_value": LEAD.id, "participationtypemask": 5}], None],
)
def test_party_differences_replace_the_parties(parties: Any) -> None:
    rec = record()
    plan = plan_writes(rec, {**stored_as(rec), "appointment_activity_parties": parties})
    assert (plan.write_fields, plan.write_parties) == (False, True)


def test_parties_of_a_closed_row_are_written_between_reopen_and_close() -> None:
    rec = record(status="cancelled")
    plan = plan_writes(rec, {**stored_as(rec, *CANCELLED), "appointment_activity_parties": []})
    assert (plan.reopen, plan.write_fields, plan.write_parties, plan.close) == (True, False, True, CANCELLED)


def test_organizer_is_ignored_when_no_staff_user_was_found() -> None:
    rec = record(organizer=None)
    stored = stored_as(record())
    assert plan_writes(rec, stored).empty


def test_cancel_of_open_row_only_changes_state() -> None:
    rec = record(status="cancelled")
    plan = plan_writes(rec, stored_as(rec))
    assert (plan.reopen, plan.write_fields, plan.close) == (False, False, CANCELLED)


def test_cancelled_row_already_cancelled_is_unchanged() -> None:
    rec = record(status="cancelled")
    assert plan_writes(rec, stored_as(rec, *CANCELLED)).empty


def test_reopening_a_cancelled_row() -> None:
    rec = record(status="scheduled")
    plan = plan_writes(rec, stored_as(rec, *CANCELLED))
    assert (plan.reopen, plan.write_fields, plan.close) == (True, False, None)


def test_editing_a_closed_row_reopens_writes_and_closes_again() -> None:
    rec = record(status="completed", subject="Changed")
    stored = stored_as(record(status="completed"), *COMPLETED)
    plan = plan_writes(rec, stored)
    assert (plan.reopen, plan.write_fields, plan.close) == (True, True, COMPLETED)


def test_cancelled_to_completed_goes_through_open() -> None:
    rec = record(status="completed")
    plan = plan_writes(rec, stored_as(rec, *CANCELLED))
    assert (plan.reopen, plan.write_fields, plan.close) == (True, False, COMPLETED)


def test_long_text_is_cut_to_the_columns_keeping_the_reference() -> None:
    rec = record(subject="s" * 300, location="l" * 300, notes="n" * 5000)
    assert len(rec.columns["subject"]) == 200 and rec.columns["subject"].endswith("…")
    assert len(rec.columns["location"]) == 200
    assert len(rec.columns["description"]) == 2000
    assert rec.columns["description"].endswith("Booking reference: apt_8412")
