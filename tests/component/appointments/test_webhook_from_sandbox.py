"""The booking sandbox sends real signed webhooks over HTTP to the app served by the devhost."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.support import loopback
from tests.support.apphost import serving_app
from tests.support.booking import running_sandbox
from tests.support.webhooks import STAFF_EMAIL


@pytest.fixture
def sandbox(app_settings: dict[str, str]) -> Iterator[Any]:
    """The sandbox delivers to the app served by the devhost, as it would to the Functions host."""
    with running_sandbox(retry_delays=(0.05,)) as booking:
        settings = {**app_settings, "BOOKING_WEBHOOK_SECRET": booking.webhook_secret}
        with serving_app(settings) as host:
            booking.webhook_url = f"{host.url}/api/webhooks/appointments"
            yield booking


def test_sandbox_booking_reaches_dataverse(sandbox: Any, dataverse: Any) -> None:
    lead_id = dataverse.insert("leads", {"lastname": "Diaz", "emailaddress1": "ana@example.com", "subject": "Ribbon"})
    user_id = dataverse.insert("systemusers", {"lastname": "Advisor", "internalemailaddress": STAFF_EMAIL})
    session = loopback.post(
        f"{sandbox.api_url}/sessions",
        json={
            "appointmentId": None,
            "customer": {"firstName": "Ana", "lastName": "Diaz", "email": "ana@example.com", "phone": "+15555550100"},
            "crmReference": {"entity": "lead", "id": lead_id},
        },
        headers={"Idempotency-Key": "test-1"},
    ).json()

    appointment_id = sandbox.book(session["sessionId"], start="2030-01-02T15:00:00-05:00", subject="Mortgage", notes="hi")
    sandbox.cancel(appointment_id)
    assert sandbox.wait_for_deliveries(10)

    assert [d["status"] for d in sandbox.deliveries] == [200, 200]
    assert [d["answer"]["result"] for d in sandbox.deliveries] == ["created", "updated"]
    rows = dataverse.rows("appointments")
    assert len(rows) == 1
    row = rows[0]
    assert (row["subject"], row["scheduledstart"], row["statecode"]) == ("Mortgage", "2030-01-02T20:00:00Z", 2)
    assert row["_regardingobjectid_value"] == lead_id
    assert appointment_id in row["description"]
    organizers = [p for p in dataverse.rows("activityparties") if p["participationtypemask"] == 7]
    assert [p["_partyid_value"] for p in organizers] == [user_id]
