"""docs/spec.md#23-post-apiwebhooksappointments "Who" and "What", over real HTTP against the Dataverse emulator."""

from __future__ import annotations

from typing import Any

from dataverse import DataverseClient
from integration.appointments.keys import appointment_row_id, lead_row_id
from tests.support.handlers import Deliver
from tests.support.webhooks import STAFF_EMAIL, event


def only_appointment(dataverse: Any) -> dict[str, Any]:
    rows = dataverse.rows("appointments")
    assert len(rows) == 1, rows
    return rows[0]


def parties(dataverse: Any, appointment_id: str) -> set[tuple[str, int]]:
    return {
        (p["_partyid_value"], p["participationtypemask"])
        for p in dataverse.rows("activityparties")
        if p.get("_activityid_value") == appointment_id and p["participationtypemask"] in (5, 7)
    }


async def test_new_customer_becomes_a_lead_with_the_appointment(deliver: Deliver, dataverse: Any, staff_user: str) -> None:
    answer = await deliver(event(staff={"email": STAFF_EMAIL.upper()}))

    assert answer.status == 200, answer.body
    lead_id = lead_row_id("booking", "ana@example.com")
    assert answer.body == {
        "result": "created",
        "appointment": appointment_row_id("booking", "apt_8412"),
        "regarding": {"entity": "lead", "id": lead_id},
    }
    lead = dataverse.row("leads", lead_id)
    assert (lead["firstname"], lead["lastname"], lead["emailaddress1"], lead["telephone1"]) == (
        "Ana", "Diaz", "ana@example.com", "+15555550100",
    )
    assert "apt_8412" in lead["subject"]
    row = only_appointment(dataverse)
    assert row["activityid"] == answer.body["appointment"]
    assert row["subject"] == "Mortgage consultation"
    assert (row["scheduledstart"], row["scheduledend"]) == ("2026-01-20T20:00:00Z", "2026-01-20T20:30:00Z")
    assert row["scheduleddurationminutes"] == 30
    assert row["location"] == "Downtown branch"
    assert "Bring payslips" in row["description"] and "apt_8412" in row["description"]
    assert row["_regardingobjectid_value"] == lead_id
    assert row["statecode"] == 0
    assert parties(dataverse, row["activityid"]) == {(lead_id, 5), (staff_user, 7)}


async def test_existing_contact_is_used_and_not_modified(deliver: Deliver, dataverse: Any) -> None:
    contact_id = dataverse.insert(
        "contacts", {"firstname": "Ana", "lastname": "Díaz-Original", "emailaddress1": "ANA@Example.com", "telephone1": "1"}
    )
    before = dataverse.row("contacts", contact_id)

    answer = await deliver(event())

    assert answer.body["regarding"] == {"entity": "contact", "id": contact_id}
    assert dataverse.rows("leads") == []
    assert dataverse.row("contacts", contact_id) == before
    row = only_appointment(dataverse)
    assert row["_regardingobjectid_value"] == contact_id
    assert parties(dataverse, row["activityid"]) == {(contact_id, 5)}


async def test_inactive_contact_is_skipped_for_an_open_lead(deliver: Deliver, dataverse: Any) -> None:
    inactive = dataverse.insert("contacts", {"lastname": "Old", "emailaddress1": "ana@example.com"})
    async with DataverseClient(dataverse.url) as client:
        await client.set_state("contacts", inactive, statecode=1, statuscode=2)
    lead_id = dataverse.insert("leads", {"lastname": "Lead", "emailaddress1": "ana@example.com", "subject": "Existing"})
    before = dataverse.row("leads", lead_id)

    answer = await deliver(event())

    assert answer.body["regarding"] == {"entity": "lead", "id": lead_id}
    assert dataverse.row("leads", lead_id) == before
    assert len(dataverse.rows("leads")) == 1


async def test_existing_open_lead_is_used_and_not_modified(deliver: Deliver, dataverse: Any) -> None:
    lead_id = dataverse.insert("leads", {"firstname": "A.", "lastname": "D.", "emailaddress1": "ana@example.com", "subject": "Walk-in"})
    before = dataverse.row("leads", lead_id)

    answer = await deliver(event())

    assert answer.body["regarding"] == {"entity": "lead", "id": lead_id}
    assert dataverse.row("leads", lead_id) == before
    assert len(dataverse.rows("leads")) == 1


async def test_crm_reference_wins_over_email(deliver: Deliver, dataverse: Any) -> None:
    referenced = dataverse.insert("leads", {"lastname": "Referenced", "emailaddress1": "other@example.com", "subject": "Ribbon"})
    dataverse.insert("contacts", {"lastname": "Same email", "emailaddress1": "ana@example.com"})

    answer = await deliver(event(crmReference={"entity": "lead", "id": referenced.upper()}))

    assert answer.body["regarding"] == {"entity": "lead", "id": referenced}
    assert only_appointment(dataverse)["_regardingobjectid_value"] == referenced


async def test_crm_reference_to_a_contact_without_customer_details(deliver: Deliver, dataverse: Any) -> None:
    contact_id = dataverse.insert("contacts", {"lastname": "Ref", "emailaddress1": "ref@example.com"})

    answer = await deliver(event(customer=None, crmReference={"entity": "contact", "id": contact_id}))

    assert answer.status == 200
    assert answer.body["regarding"] == {"entity": "contact", "id": contact_id}


async def test_missing_crm_reference_falls_back_to_email(deliver: Deliver, dataverse: Any) -> None:
    missing = "6f1c2b8e-0000-4000-8000-00000000dead"
    answer = await deliver(event(crmReference={"entity": "contact", "id": missing}))

    assert answer.body["regarding"] == {"entity": "lead", "id": lead_row_id("booking", "ana@example.com")}


async def test_missing_crm_reference_without_email_is_a_400(deliver: Deliver, dataverse: Any) -> None:
    missing = "6f1c2b8e-0000-4000-8000-00000000dead"
    answer = await deliver(event(customer=None, crmReference={"entity": "lead", "id": missing}))

    assert answer.status == 400
    assert answer.body["errors"] == [{"path": "$.data.crmReference.id", "message": "does not exist in Dataverse"}]
    assert dataverse.rows("appointments") == []


async def test_email_with_an_apostrophe_is_escaped(deliver: Deliver, dataverse: Any) -> None:
    email = "o'brien@example.com"
    contact_id = dataverse.insert("contacts", {"lastname": "O'Brien", "emailaddress1": email})

    answer = await deliver(event(customer={"firstName": "Pat", "lastName": "O'Brien", "email": email}))

    assert answer.status == 200, answer.body
    assert answer.body["regarding"] == {"entity": "contact", "id": contact_id}


async def test_new_lead_with_an_apostrophe(deliver: Deliver, dataverse: Any) -> None:
    email = "o'brien+tag@example.com"
    answer = await deliver(event(customer={"lastName": "O'Brien", "email": email}))
    again = await deliver(event(customer={"lastName": "O'Brien", "email": email}, subject="Changed"))

    assert (answer.status, again.status) == (200, 200)
    leads = dataverse.rows("leads")
    assert [lead["emailaddress1"] for lead in leads] == [email]
    assert again.body["regarding"] == answer.body["regarding"]


async def test_unknown_staff_member_leaves_no_organizer(deliver: Deliver, dataverse: Any, staff_user: str) -> None:
    answer = await deliver(event(staff={"email": "nobody@bank.example"}))

    assert parties(dataverse, answer.body["appointment"]) == {(answer.body["regarding"]["id"], 5)}


async def test_a_new_staff_member_alone_changes_the_organizer_under_the_rows_etag(
    deliver: Deliver, dataverse: Any, staff_user: str
) -> None:
    """Only the parties differ: the PUT of the party list rides on a PATCH guarded by the row's etag."""
    other = dataverse.insert("systemusers", {"firstname": "Bo", "lastname": "Banker", "internalemailaddress": "bo@bank.example"})
    first = await deliver(event(staff={"email": STAFF_EMAIL}))
    customer = first.body["regarding"]["id"]
    dataverse.clear_log()

    answer = await deliver(event(type_="appointment.updated", staff={"email": "bo@bank.example"}))

    assert answer.body["result"] == "updated"
    assert parties(dataverse, answer.body["appointment"]) == {(customer, 5), (other, 7)}
    [write] = [r for r in dataverse.requests if r.method == "POST" and r.path.endswith("$batch")][-1:]
    text = write.body.decode()
    patch = text.index("PATCH ")
    put = text.index("PUT ")
    assert patch < put and "If-Match: W/" in text[patch:put] and "If-Match" not in text[put:]
