"""POST /api/webhooks/appointments through the DevHost while Dataverse fails at each step.

The promise (docs/spec.md#23-post-apiwebhooksappointments): the sender hears 503/504 + Retry-After when it should deliver
again, nothing is left half-written, and after the fault a redelivery leaves exactly one
lead and one appointment, in the newest state.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from integration.appointments.keys import appointment_row_id
from tests.support.polling import wait_until_async
from tests.support.problems import problem_retry_after
from tests.support.webhooks import event, signed

pytestmark = pytest.mark.usefixtures("release_hangs")

WEBHOOK = "/api/webhooks/appointments"
EMAIL = "ana@example.com"

STEPS = {  # the requests of a first delivery, in order
    "read": dict(method="POST", path="$batch"),
    "lead create": dict(method="PATCH", path="leads"),
    "appointment write": dict(method="PATCH", path="appointments"),
}
LASTING = {  # fault -> (script it, expected status)
    "503": (lambda f, where: f.fail(10, status=503, **where), 503),
    "429 beyond budget": (lambda f, where: f.throttle(10, retry_after=30, **where), 503),
    "reset": (lambda f, where: f.reset_connection(10, **where), 503),
    "hang": (lambda f, where: f.hang(10, seconds=30, **where), 503),  # a Dataverse timeout is an outage: 503
}


async def deliver(http: httpx.AsyncClient, body: dict[str, Any], msg_id: str | None = None) -> httpx.Response:
    raw, headers = signed(body, msg_id)
    return await http.post(WEBHOOK, content=raw, headers=headers)


def one_lead_one_appointment(dataverse: Any, appointment_id: str = "apt_8412") -> dict[str, Any]:
    leads = [r for r in dataverse.rows("leads") if r["emailaddress1"] == EMAIL]
    appointments = dataverse.rows("appointments")
    assert len(leads) == 1, leads
    assert [a["activityid"] for a in appointments] == [appointment_row_id("booking", appointment_id)]
    assert appointments[0]["_regardingobjectid_value"] == leads[0]["leadid"]
    return appointments[0]


CASES = [
    pytest.param(step, fault, id=f"{step}-{fault}")
    for step in STEPS for fault in LASTING
]
SENDER_PATIENCE = 5.0
"""Seconds the test waits for an answer, as a webhook sender would; the app's client times out at 0.5 s."""


@pytest.mark.slow  # the exhaustive matrix, every step x every lasting fault (make test-slow, run by CI)
@pytest.mark.parametrize("step,fault", CASES)
async def test_a_lasting_fault_at_any_step_then_a_redelivery_completes(dataverse, http, step, fault) -> None:
    inject, status = LASTING[fault]
    inject(dataverse.faults, STEPS[step])
    body = event()

    raw, headers = signed(body, "msg_first")
    failed = await http.post(WEBHOOK, content=raw, headers=headers, timeout=SENDER_PATIENCE)

    assert failed.status_code == status, failed.text
    problem_retry_after(failed)
    assert EMAIL not in failed.text and "Traceback" not in failed.text
    assert dataverse.rows("appointments") == []  # never an appointment without its customer and parties
    assert len(dataverse.rows("leads")) <= 1

    dataverse.faults.clear()
    again = await deliver(http, body, "msg_first")
    assert again.status_code == 200, again.text
    assert again.json()["result"] == "created"
    row = one_lead_one_appointment(dataverse)
    assert (row["subject"], row["statecode"]) == ("Mortgage consultation", 0)
    assert (await deliver(http, body, "msg_first")).json()["result"] == "unchanged"


RIDDEN_OUT = {
    "429 storm on the read": lambda f: f.throttle(4, retry_after=0, method="POST", path="$batch"),
    "503 on the lead": lambda f: f.fail(2, status=503, method="PATCH", path="leads"),
    "reset on the appointment": lambda f: f.reset_connection(1, method="PATCH", path="appointments"),
    "hang on the appointment": lambda f: f.hang(1, seconds=30, method="PATCH", path="appointments"),
}


@pytest.mark.parametrize("fault", list(RIDDEN_OUT))
async def test_a_short_fault_is_ridden_out_in_one_delivery(dataverse, http, fault) -> None:
    RIDDEN_OUT[fault](dataverse.faults)

    answer = await deliver(http, event())

    assert answer.status_code == 200, answer.text
    assert answer.json()["result"] == "created"
    one_lead_one_appointment(dataverse)
    assert dataverse.faults.pending() == 0


async def test_a_write_that_lands_after_the_client_gave_up_is_not_duplicated(dataverse, http) -> None:
    """The first attempt hangs past the timeout and is applied later; the retry must not make a second row."""
    dataverse.faults.hang(1, seconds=0.8, method="PATCH", path="appointments")

    answer = await deliver(http, event())
    # The hung first attempt lands after the retry (the emulator logs a request when it ends).
    await wait_until_async(lambda: dataverse.count(method="PATCH", path="/appointments(") == 2,
                           what="the hung PATCH to land")

    assert answer.status_code == 200, answer.text
    one_lead_one_appointment(dataverse)
    assert (await deliver(http, event())).json()["result"] == "unchanged"


async def test_concurrent_duplicate_deliveries_during_throttling_write_once(dataverse, http) -> None:
    dataverse.latency = 0.005
    dataverse.faults.throttle(6, retry_after=0)
    raw, headers = signed(event(), "msg_dup")

    answers = await asyncio.gather(*(http.post(WEBHOOK, content=raw, headers=headers) for _ in range(10)))

    assert [a.status_code for a in answers] == [200] * 10, [a.text for a in answers]
    results = sorted(a.json()["result"] for a in answers)
    assert results == ["created"] + ["unchanged"] * 9
    one_lead_one_appointment(dataverse)


async def test_racing_first_bookings_of_one_new_email_make_one_lead(dataverse, http) -> None:
    dataverse.latency = 0.005
    dataverse.faults.fail(3, status=503, method="PATCH", path="leads")
    ids = [f"apt_race_{n}" for n in range(6)]

    answers = await asyncio.gather(*(deliver(http, event(i)) for i in ids))

    assert [a.status_code for a in answers] == [200] * 6, [a.text for a in answers]
    leads = [r for r in dataverse.rows("leads") if r["emailaddress1"] == EMAIL]
    assert len(leads) == 1
    rows = dataverse.rows("appointments")
    assert sorted(r["activityid"] for r in rows) == sorted(appointment_row_id("booking", i) for i in ids)
    assert {r["_regardingobjectid_value"] for r in rows} == {leads[0]["leadid"]}


async def test_a_cancel_that_failed_and_is_redelivered_after_the_create_wins(dataverse, http) -> None:
    cancel = event(type_="appointment.cancelled", status="cancelled", updatedAt="2026-01-16T00:00:00Z")
    dataverse.faults.fail(10, status=503, method="POST", path="$batch")
    assert (await deliver(http, cancel, "msg_cancel")).status_code == 503
    dataverse.faults.clear()

    assert (await deliver(http, event(), "msg_create")).json()["result"] == "created"
    assert (await deliver(http, cancel, "msg_cancel")).json()["result"] == "updated"
    assert (await deliver(http, event(), "msg_create")).json()["result"] == "stale"  # a late create changes nothing

    row = one_lead_one_appointment(dataverse)
    assert (row["statecode"], row["statuscode"], row["new_bookingversion"]) == (2, 4, "2026-01-16T00:00:00.000000Z")


async def test_the_booking_system_redelivers_through_an_outage(dataverse, sandbox, host, http) -> None:
    """The sandbox signs and sends; the app answers 503 + Retry-After until Dataverse is back."""
    lead = dataverse.insert("leads", {"firstname": "Ana", "lastname": "Diaz", "emailaddress1": EMAIL})
    session = await http.post("/api/booking-sessions", json={"regarding": {"entity": "lead", "id": lead}})
    assert session.status_code == 201, session.text
    sandbox.webhook_url = f"{host.url}{WEBHOOK}"
    dataverse.faults.throttle(3, retry_after=30, method="POST", path="$batch")

    booking = await asyncio.to_thread(sandbox.book, session.json()["sessionId"])
    assert await asyncio.to_thread(sandbox.wait_for_deliveries, 10)

    attempts = [d for d in sandbox.deliveries if d["appointment_id"] == booking]
    assert [d["status"] for d in attempts] == [503, 503, 503, 200]
    assert all(d["retry_after"] == 30 for d in attempts[:3])
    rows = dataverse.rows("appointments")
    assert [r["activityid"] for r in rows] == [appointment_row_id("booking", booking)]
    assert rows[0]["_regardingobjectid_value"] == lead
    assert [r["leadid"] for r in dataverse.rows("leads")] == [lead]
