"""``appointmentId`` ownership (key mode): a session may reschedule only an appointment of the same record.

The appointments are created the way production creates them: a signed webhook delivery
through the app's own webhook handler. Everything runs over loopback HTTP against the
Dataverse emulator and the booking sandbox.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.booking import session_requests
from tests.support.handlers import answer, booked, get_redirect, post_session

ANA = {"firstname": "Ana", "lastname": "Diaz", "emailaddress1": "ana.diaz@example.com"}
BO = {"firstname": "Bo", "lastname": "Li", "emailaddress1": "bo.li@example.com"}


def body(entity: str, row_id: str, appointment_id: str) -> dict[str, Any]:
    return {"regarding": {"entity": entity, "id": row_id}, "appointmentId": appointment_id}


@pytest.fixture
def two_leads(dataverse: Any) -> tuple[str, str]:
    return dataverse.insert("leads", {**ANA, "subject": "A"}), dataverse.insert("leads", {**BO, "subject": "B"})


async def test_the_records_own_appointment_is_rescheduled(app_root, booking_env, sandbox, two_leads) -> None:
    ana, _ = two_leads
    await booked(app_root, "apt_own", "lead", ana)

    response = await post_session(app_root, body("lead", ana, "apt_own"))

    assert response.status_code == 201, response.get_body()
    [sent] = session_requests(sandbox)
    assert sent["json"]["appointmentId"] == "apt_own"
    assert sent["json"]["crmReference"] == {"entity": "lead", "id": ana}


async def test_another_customers_appointment_is_404_and_the_booking_api_is_not_called(
    app_root, booking_env, sandbox, dataverse, two_leads
) -> None:
    ana, bo = two_leads
    await booked(app_root, "apt_of_bo", "lead", bo)

    posted = await post_session(app_root, body("lead", ana, "apt_of_bo"))
    redirected = await get_redirect(app_root, {"entity": "lead", "id": ana, "appointmentId": "apt_of_bo"})

    for response in (posted, redirected):
        assert response.status_code == 404, response.get_body()
        assert response.mimetype == "application/problem+json"
    assert session_requests(sandbox) == []
    [appointment] = dataverse.rows("appointments")
    assert appointment["_regardingobjectid_value"] == bo  # still Bo's


async def test_an_unknown_appointment_is_404(app_root, booking_env, sandbox, two_leads) -> None:
    ana, _ = two_leads
    response = await post_session(app_root, body("lead", ana, "apt_never_booked"))

    assert response.status_code == 404, response.get_body()
    assert answer(response)["status"] == 404
    assert session_requests(sandbox) == []


async def test_the_same_id_in_another_table_is_not_the_same_record(app_root, booking_env, sandbox, dataverse, two_leads) -> None:
    """A contact created with a lead's GUID does not own the lead's appointment: the table counts too."""
    ana, _ = two_leads
    await booked(app_root, "apt_ana", "lead", ana)
    dataverse.insert("contacts", {"contactid": ana, **BO})

    response = await post_session(app_root, body("contact", ana, "apt_ana"))

    assert response.status_code == 404, response.get_body()
    assert session_requests(sandbox) == []


async def test_an_appointment_of_another_booking_source_is_not_found(
    app_root, booking_env, app_settings, sandbox, two_leads
) -> None:
    ana, _ = two_leads
    await booked(app_root, "apt_ana", "lead", ana)
    app_settings["BOOKING_SOURCE"] = "otherbooking"

    response = await post_session(app_root, body("lead", ana, "apt_ana"))

    assert response.status_code == 404, response.get_body()
    assert session_requests(sandbox) == []
