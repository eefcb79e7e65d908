"""docs/spec.md#23-post-apiwebhooksappointments "Effect in Dataverse": who the appointment is for, what it holds, its state
and the order of events, read back through the Web API as a Dynamics admin would."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from tests.support.webhooks import booking_event
from tests.system.contract.dataverse_admin import DataverseAdmin, text

STAFF = "advisor@bank.example"
CUSTOMER = {"firstName": "Ana", "lastName": "Diaz", "email": "ana.diaz@example.com", "phone": "+15555550100"}


def at(second: int) -> str:
    return f"2026-01-15T14:03:{second:02d}Z"


def apply(sender, payload: dict[str, Any], result: str | None = None) -> dict[str, Any]:
    answer = sender.send(payload)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    if result:
        assert body["result"] == result, body
    return body


def appointments(dv: DataverseAdmin) -> list[dict[str, Any]]:
    return dv.rows("appointments")


def only_appointment(dv: DataverseAdmin, booking_id: str) -> dict[str, Any]:
    found = [a for a in appointments(dv) if booking_id in (a.get("description") or "")]
    assert len(found) == 1, found
    return found[0]


def leads_with(dv: DataverseAdmin, email: str) -> list[dict[str, Any]]:
    return dv.rows("leads", filter=f"emailaddress1 eq {text(email)}")


def parties(dv: DataverseAdmin, appointment: str, mask: int) -> list[str]:
    return [p["_partyid_value"] for p in dv.parties(appointment) if p["participationtypemask"] == mask]


@pytest.fixture
def advisor(dv) -> str:
    return dv.create("systemusers", {"firstname": "Ada", "lastname": "Advisor", "internalemailaddress": STAFF})


# Who

def test_crm_reference_lead_gets_a_complete_appointment(sender, dv, advisor) -> None:
    lead = dv.create("leads", {"lastname": "Diaz", "subject": "Mortgage", "emailaddress1": "other@example.com"})
    payload = booking_event(appointmentId="apt_8412", crmReference={"entity": "lead", "id": lead}, customer=CUSTOMER,
                    start="2026-01-20T15:00:00-05:00", end="2026-01-20T15:30:00-05:00",
                    subject="Mortgage consultation", location="Downtown branch", notes="Bring payslips")
    body = apply(sender, payload, "created")
    assert body["regarding"] == {"entity": "lead", "id": lead}
    row = dv.get("appointments", body["appointment"])
    assert row is not None
    assert row["subject"] == "Mortgage consultation"
    assert row["scheduledstart"] == "2026-01-20T20:00:00Z"
    assert row["scheduledend"] == "2026-01-20T20:30:00Z"
    assert row["location"] == "Downtown branch"
    assert "Bring payslips" in row["description"] and "apt_8412" in row["description"]
    assert row["_regardingobjectid_value"] == lead
    assert row["statecode"] in (0, 3)
    assert parties(dv, row["activityid"], 5) == [lead]
    assert parties(dv, row["activityid"], 7) == [advisor]
    assert len(dv.rows("leads")) == 1 and dv.rows("contacts") == []


def test_crm_reference_contact(sender, dv, advisor) -> None:
    contact = dv.create("contacts", {"firstname": "Ana", "lastname": "Diaz", "emailaddress1": "x@example.com"})
    body = apply(sender, booking_event(crmReference={"entity": "contact", "id": contact}), "created")
    assert body["regarding"] == {"entity": "contact", "id": contact}
    assert dv.get("appointments", body["appointment"])["_regardingobjectid_value"] == contact
    assert parties(dv, body["appointment"], 5) == [contact]
    assert dv.rows("leads") == []


def test_crm_reference_not_present_falls_back_to_email(sender, dv) -> None:
    contact = dv.create("contacts", {"lastname": "Diaz", "emailaddress1": CUSTOMER["email"]})
    gone = "0d9c8b7a-6f5e-4d3c-9b2a-1f0e9d8c7b6a"
    body = apply(sender, booking_event(crmReference={"entity": "lead", "id": gone}, customer=CUSTOMER), "created")
    assert body["regarding"] == {"entity": "contact", "id": contact}
    assert dv.rows("leads") == []


def test_active_contact_matched_by_email_case_insensitively(sender, dv) -> None:
    contact = dv.create("contacts", {"lastname": "Diaz", "emailaddress1": "Ana.Diaz@Example.COM"})
    body = apply(sender, booking_event(customer={**CUSTOMER, "email": "ana.diaz@EXAMPLE.com"}), "created")
    assert body["regarding"] == {"entity": "contact", "id": contact}
    assert dv.rows("leads") == []


def test_contact_wins_over_lead_with_the_same_email(sender, dv) -> None:
    dv.create("leads", {"lastname": "Diaz", "subject": "Old", "emailaddress1": CUSTOMER["email"]})
    contact = dv.create("contacts", {"lastname": "Diaz", "emailaddress1": CUSTOMER["email"]})
    assert apply(sender, booking_event(customer=CUSTOMER))["regarding"] == {"entity": "contact", "id": contact}


def test_inactive_contact_is_not_matched_open_lead_is(sender, dv) -> None:
    contact = dv.create("contacts", {"lastname": "Diaz", "emailaddress1": CUSTOMER["email"]})
    dv.update("contacts", contact, {"statecode": 1, "statuscode": 2})
    lead = dv.create("leads", {"lastname": "Diaz", "subject": "Open", "emailaddress1": CUSTOMER["email"].upper()})
    assert apply(sender, booking_event(customer=CUSTOMER))["regarding"] == {"entity": "lead", "id": lead}


def test_closed_lead_is_not_matched_a_new_lead_is_created(sender, dv) -> None:
    closed = dv.create("leads", {"lastname": "Diaz", "subject": "Closed", "emailaddress1": CUSTOMER["email"]})
    dv.update("leads", closed, {"statecode": 2, "statuscode": 4})
    body = apply(sender, booking_event(customer=CUSTOMER))
    assert body["regarding"]["entity"] == "lead" and body["regarding"]["id"] != closed
    assert len(leads_with(dv, CUSTOMER["email"])) == 2


def test_unknown_email_creates_one_new_lead_with_the_customer_details(sender, dv) -> None:
    payload = booking_event(appointmentId="apt_new1", subject="Mortgage consultation", customer=CUSTOMER)
    body = apply(sender, payload, "created")
    [lead] = dv.rows("leads")
    assert body["regarding"] == {"entity": "lead", "id": lead["leadid"]}
    assert (lead["firstname"], lead["lastname"], lead["emailaddress1"], lead["telephone1"]) == (
        "Ana", "Diaz", "ana.diaz@example.com", "+15555550100")
    assert lead["subject"], "a new lead needs a subject naming the booking"
    assert any(word in lead["subject"].lower() for word in ("mortgage consultation", "apt_new1", "booking")), lead
    assert lead["statecode"] == 0
    assert dv.get("appointments", body["appointment"])["_regardingobjectid_value"] == lead["leadid"]


def test_second_booking_of_the_new_customer_reuses_the_lead(sender, dv) -> None:
    first = apply(sender, booking_event(customer=CUSTOMER))
    second = apply(sender, booking_event(customer={**CUSTOMER, "email": "ANA.DIAZ@example.com"}))
    assert first["regarding"] == second["regarding"]
    assert len(dv.rows("leads")) == 1 and len(appointments(dv)) == 2


def test_existing_contact_details_are_not_overwritten(sender, dv) -> None:
    original = {"firstname": "Anabel", "lastname": "Diaz-Ruiz", "emailaddress1": CUSTOMER["email"],
                "telephone1": "+34 600 000 000"}
    contact = dv.create("contacts", original)
    lead = dv.create("leads", {**original, "subject": "Kept"})
    apply(sender, booking_event(customer=CUSTOMER))
    apply(sender, booking_event(customer=CUSTOMER, crmReference={"entity": "lead", "id": lead}))
    for entity_set, row_id in (("contacts", contact), ("leads", lead)):
        row = dv.get(entity_set, row_id)
        assert {k: row[k] for k in original} == original
    assert dv.get("leads", lead)["subject"] == "Kept"


def _race(sender, payloads: list[dict[str, Any]]) -> list[Any]:
    answers: list[Any] = [None] * len(payloads)
    gate = threading.Barrier(len(payloads))

    def deliver(i: int) -> None:
        gate.wait()
        answers[i] = sender.send(payloads[i])

    threads = [threading.Thread(target=deliver, args=(i,)) for i in range(len(payloads))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return answers


@pytest.mark.parametrize("round_", range(3))
def test_racing_deliveries_for_one_new_email_create_one_lead(sender, dv, round_) -> None:
    customer = {**CUSTOMER, "email": f"race{round_}@example.com"}
    answers = _race(sender, [booking_event(customer=customer) for _ in range(4)])
    assert [a.status_code for a in answers] == [200] * 4, [a.text for a in answers]
    assert len(leads_with(dv, customer["email"])) == 1
    assert len({a.json()["regarding"]["id"] for a in answers}) == 1
    assert len(appointments(dv)) == 4


def test_the_same_event_delivered_concurrently_gives_one_appointment(sender, dv) -> None:
    payload = booking_event(appointmentId="apt_dupe", customer=CUSTOMER)
    answers = _race(sender, [payload] * 4)
    assert [a.status_code for a in answers] == [200] * 4, [a.text for a in answers]
    assert sorted(a.json()["result"] for a in answers).count("created") == 1
    only_appointment(dv, "apt_dupe")
    assert len(dv.rows("leads")) == 1


# What, and idempotency

def test_redelivery_is_unchanged_and_writes_nothing(sender, dv) -> None:
    payload = booking_event(appointmentId="apt_again", customer=CUSTOMER)
    first = apply(sender, payload, "created")
    dv.clear_log()
    again = apply(sender, payload, "unchanged")
    assert again["appointment"] == first["appointment"] and again["regarding"] == first["regarding"]
    assert dv.writes() == []
    only_appointment(dv, "apt_again")


def test_newer_update_changes_the_same_appointment(sender, dv, advisor) -> None:
    created = apply(sender, booking_event(appointmentId="apt_move", customer=CUSTOMER, updatedAt=at(20)), "created")
    moved = booking_event("appointment.updated", appointmentId="apt_move", customer=CUSTOMER, updatedAt=at(40),
                  start="2026-01-21T09:00:00Z", end="2026-01-21T10:00:00Z", subject="Moved", location="Uptown",
                  notes="New notes")
    updated = apply(sender, moved, "updated")
    assert updated["appointment"] == created["appointment"]
    row = only_appointment(dv, "apt_move")
    assert (row["scheduledstart"], row["scheduledend"], row["subject"], row["location"]) == (
        "2026-01-21T09:00:00Z", "2026-01-21T10:00:00Z", "Moved", "Uptown")
    assert "New notes" in row["description"]


def test_offsets_are_converted_to_utc(sender, dv) -> None:
    body = apply(sender, booking_event(start="2026-03-01T09:15:00+05:30", end="2026-03-01T10:00:00.500+05:30"))
    row = dv.get("appointments", body["appointment"])
    assert row["scheduledstart"] == "2026-03-01T03:45:00Z"
    assert row["scheduledend"].startswith("2026-03-01T04:30:00")


def test_unknown_staff_gives_no_organizer_and_still_applies(sender, dv, advisor) -> None:
    body = apply(sender, booking_event(staff={"email": "nobody@bank.example"}), "created")
    assert parties(dv, body["appointment"], 7) == []
    body = apply(sender, booking_event(staff=None), "created")
    assert parties(dv, body["appointment"], 7) == []


def test_staff_matched_case_insensitively(sender, dv, advisor) -> None:
    body = apply(sender, booking_event(staff={"email": "Advisor@Bank.Example"}), "created")
    assert parties(dv, body["appointment"], 7) == [advisor]


def test_odata_quotes_in_customer_data_are_escaped(sender, dv) -> None:
    email = "o'brien@example.com"
    contact = dv.create("contacts", {"lastname": "O'Brien", "emailaddress1": email})
    body = apply(sender, booking_event(customer={"firstName": "Seán", "lastName": "O'Brien", "email": email}))
    assert body["regarding"] == {"entity": "contact", "id": contact}
    newcomer = {"lastName": "O'Neil", "email": "o'neil'or'1'eq'1@example.com"}
    body = apply(sender, booking_event(appointmentId="apt_q'uote", customer=newcomer), "created")
    assert body["regarding"]["entity"] == "lead"
    again = apply(sender, booking_event(appointmentId="apt_q'uote", customer=newcomer), "unchanged")
    assert again["appointment"] == body["appointment"]
    assert len(leads_with(dv, newcomer["email"])) == 1


# State

@pytest.mark.parametrize(("kind", "status"), [("appointment.cancelled", "cancelled"),
                                              ("appointment.canceled", "canceled"),
                                              ("appointment.updated", "cancelled"),
                                              ("appointment.cancelled", "canceled")])
def test_cancel_sets_canceled_state(sender, dv, kind, status) -> None:
    apply(sender, booking_event(appointmentId="apt_c", updatedAt=at(10)), "created")
    body = apply(sender, booking_event(kind, appointmentId="apt_c", status=status, updatedAt=at(30)), "updated")
    row = dv.get("appointments", body["appointment"])
    assert (row["statecode"], row["statuscode"]) == (2, 4)
    only_appointment(dv, "apt_c")


def test_completed_sets_completed_state(sender, dv) -> None:
    apply(sender, booking_event(appointmentId="apt_done", updatedAt=at(10)), "created")
    body = apply(sender, booking_event("appointment.updated", appointmentId="apt_done", status="completed",
                               updatedAt=at(30)), "updated")
    row = dv.get("appointments", body["appointment"])
    assert (row["statecode"], row["statuscode"]) == (1, 3)


def test_cancel_before_create_leaves_a_cancelled_appointment(sender, dv) -> None:
    cancelled = apply(sender, booking_event("appointment.cancelled", appointmentId="apt_early", status="cancelled",
                                    updatedAt=at(30), customer=CUSTOMER))
    assert cancelled["result"] == "created"
    late = apply(sender, booking_event("appointment.created", appointmentId="apt_early", updatedAt=at(10),
                               customer=CUSTOMER))
    assert late["result"] == "stale"
    assert late["appointment"] == cancelled["appointment"]
    row = only_appointment(dv, "apt_early")
    assert (row["statecode"], row["statuscode"]) == (2, 4)


def test_completed_appointment_can_be_created_directly(sender, dv) -> None:
    body = apply(sender, booking_event("appointment.updated", appointmentId="apt_c2", status="completed"), "created")
    row = dv.get("appointments", body["appointment"])
    assert (row["statecode"], row["statuscode"]) == (1, 3)


def test_cancelled_redelivery_is_unchanged(sender, dv) -> None:
    payload = booking_event("appointment.cancelled", appointmentId="apt_cc", status="cancelled")
    apply(sender, payload, "created")
    dv.clear_log()
    apply(sender, payload, "unchanged")
    assert dv.writes() == []


# Order (APPOINTMENT_VERSION_COLUMN is set for this app)

def test_older_event_is_stale_and_changes_nothing(sender, dv) -> None:
    apply(sender, booking_event(appointmentId="apt_ord", subject="Newest", updatedAt=at(40)), "created")
    before = only_appointment(dv, "apt_ord")
    dv.clear_log()
    stale = apply(sender, booking_event("appointment.updated", appointmentId="apt_ord", subject="Older", updatedAt=at(20),
                                start="2026-02-01T10:00:00Z", end="2026-02-01T11:00:00Z"), "stale")
    assert stale["appointment"] == before["activityid"]
    assert stale["regarding"]["id"] == before["_regardingobjectid_value"]
    assert dv.writes() == []
    after = only_appointment(dv, "apt_ord")
    assert after == before


def test_version_column_keeps_the_source_updated_at(sender, dv) -> None:
    body = apply(sender, booking_event(appointmentId="apt_ver", updatedAt="2026-01-15T14:03:20.123Z"))
    stored = dv.get("appointments", body["appointment"], select="new_bookingversion")["new_bookingversion"]
    assert stored and stored.startswith("2026-01-15T14:03:20")


def test_older_cancel_does_not_cancel_a_newer_booking(sender, dv) -> None:
    apply(sender, booking_event(appointmentId="apt_x", updatedAt=at(50)), "created")
    apply(sender, booking_event("appointment.cancelled", appointmentId="apt_x", status="cancelled", updatedAt=at(10)),
          "stale")
    row = only_appointment(dv, "apt_x")
    assert row["statecode"] in (0, 3)
