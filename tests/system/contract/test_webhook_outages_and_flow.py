"""docs/spec.md#23-post-apiwebhooksappointments under Dataverse outages (503 + Retry-After, then a redelivery completes),
the whole booking story driven by the booking sandbox, and what the logs may not contain."""

from __future__ import annotations

import json

import pytest

from tests.support import loopback
from tests.support.apphost import start_host, stop_host
from tests.support.problems import unavailable
from tests.support.webhooks import Sender, booking_event
from tests.system.contract.stage import API_KEY, WEBHOOK_SECRET, base_settings

STAFF = "advisor@bank.example"
CUSTOMER = {"firstName": "Zebulon", "lastName": "Quixotic", "email": "zq.unique@example.com", "phone": "+15555550199"}


@pytest.fixture
def advisor(dv) -> str:
    return dv.create("systemusers", {"firstname": "Ada", "lastname": "Advisor", "internalemailaddress": STAFF})


def assert_complete_cancelled_booking(dv, booking_id: str, advisor: str) -> None:
    [lead] = dv.rows("leads")
    assert lead["emailaddress1"] == CUSTOMER["email"] and lead["lastname"] == CUSTOMER["lastName"]
    found = [a for a in dv.rows("appointments") if booking_id in (a.get("description") or "")]
    assert len(found) == 1, found
    row = found[0]
    assert (row["statecode"], row["statuscode"]) == (2, 4)
    assert row["_regardingobjectid_value"] == lead["leadid"]
    parties = {(p["participationtypemask"], p["_partyid_value"]) for p in dv.parties(row["activityid"])}
    assert {(5, lead["leadid"]), (7, advisor)} <= parties


def test_throttled_dataverse_is_503_with_retry_after_then_redelivery_completes(sender, dataverse, dv, advisor):
    payload = booking_event("appointment.cancelled", appointmentId="apt_t", status="cancelled", customer=CUSTOMER)
    dataverse.faults.throttle(100, retry_after=0)
    answer = sender.send(payload, msg_id="msg_throttled")
    dataverse.faults.clear()
    unavailable(answer, (503,))
    again = sender.send(payload, msg_id="msg_throttled")
    assert again.status_code == 200, again.text
    assert_complete_cancelled_booking(dv, "apt_t", advisor)


def fail_from_request(dataverse, k: int, fault: str) -> None:
    """Let the first k Dataverse requests through, then fail every later one."""
    if k:
        dataverse.faults.hang(k, seconds=0.001)
    if fault == "outage":
        dataverse.faults.fail(50, status=503, retry_after=0)
    else:
        dataverse.faults.reset_connection(50)


STEPS = [("outage", k) for k in range(4)] + [("reset", 2)]   # a reset costs the app's backoff: the last write only


@pytest.mark.parametrize(("fault", "k"), STEPS)
def test_outage_at_any_step_leaves_nothing_a_redelivery_would_not_complete(sender, dataverse, dv, advisor, k, fault):
    payload = booking_event("appointment.cancelled", appointmentId="apt_f", status="cancelled", customer=CUSTOMER)
    dv.clear_log()
    fail_from_request(dataverse, k, fault)
    first = sender.send(payload, msg_id="msg_fault")
    dataverse.faults.clear()
    if first.status_code != 200:
        unavailable(first)
    final = sender.send(payload, msg_id="msg_fault")
    assert final.status_code == 200, final.text
    assert final.json()["result"] in ("created", "updated", "unchanged")
    assert_complete_cancelled_booking(dv, "apt_f", advisor)


def test_a_clean_delivery_takes_few_requests(sender, dv, advisor):
    """Bounds the step count, so the fault steps above (k = 0..3) cover every request of a delivery."""
    dv.clear_log()
    payload = booking_event("appointment.cancelled", appointmentId="apt_n", status="cancelled", customer=CUSTOMER)
    assert sender.send(payload).status_code == 200
    assert dv.request_count() <= 3, [(r["method"], r["path"]) for r in dv.logged()]


def test_sandbox_redelivers_after_503_and_the_booking_lands(app, booking, dataverse, dv, advisor):
    lead = dv.create("leads", {"firstname": "Ana", "lastname": "Diaz", "subject": "Web", "emailaddress1": "a@e.com"})
    session = loopback.post(app.url + "/api/booking-sessions", headers={"x-functions-key": app.keys.default_key},
                         json={"regarding": {"entity": "lead", "id": lead}}).json()
    dataverse.faults.throttle(8, retry_after=0)
    appointment_id = booking.book(session["sessionId"], subject="Advice", location="Branch", notes="hello")
    assert booking.wait_for_deliveries(20)
    statuses = [d["status"] for d in booking.deliveries]
    assert statuses[0] == 503 and statuses[-1] == 200, booking.deliveries
    assert all(d["retry_after"] is not None for d in booking.deliveries if d["status"] == 503)
    [row] = dv.rows("appointments", filter=f"_regardingobjectid_value eq {lead}")
    assert appointment_id in row["description"] and row["subject"] == "Advice"


def test_booking_story_session_book_reschedule_cancel(app, booking, dv, advisor):
    contact = dv.create("contacts", {"firstname": "Ana", "lastname": "Diaz", "emailaddress1": "ana@example.com"})
    answer = loopback.get(app.url + "/api/booking-sessions/redirect",
                       params={"entity": "contact", "id": contact, "code": app.keys.default_key})
    assert answer.status_code == 302
    assert loopback.get(answer.headers["location"]).status_code == 200      # the booking page opens
    [session_id] = booking.sessions
    appointment_id = booking.book(session_id, subject="Advice", location="Branch", notes="first visit")
    assert booking.wait_for_deliveries(10)
    booking.reschedule(appointment_id, "2030-06-03T14:00:00Z", "2030-06-03T15:00:00Z")
    assert booking.wait_for_deliveries(10)
    [row] = dv.rows("appointments")
    assert (row["scheduledstart"], row["scheduledend"]) == ("2030-06-03T14:00:00Z", "2030-06-03T15:00:00Z")
    booking.cancel(appointment_id)
    assert booking.wait_for_deliveries(10)
    answers = [(d["status"], (d["answer"] or {}).get("result")) for d in booking.deliveries]
    assert answers == [(200, "created"), (200, "updated"), (200, "updated")], answers
    [row] = dv.rows("appointments")
    assert row["_regardingobjectid_value"] == contact
    assert (row["statecode"], row["statuscode"]) == (2, 4)
    assert {p["_partyid_value"] for p in dv.parties(row["activityid"]) if p["participationtypemask"] == 7} == {advisor}
    assert dv.rows("leads") == []


@pytest.fixture
def unversioned(dataverse_server, booking_system):
    settings = base_settings(dataverse_server.url, booking_system)
    del settings["APPOINTMENT_VERSION_COLUMN"]
    host = start_host(settings)
    s = Sender(host.url, WEBHOOK_SECRET)
    try:
        yield s
    finally:
        s.close()
        stop_host(host)


def test_without_version_column_events_apply_and_repeat_idempotently(unversioned, dv):
    payload = booking_event(appointmentId="apt_nv", customer=CUSTOMER)
    first = unversioned.send(payload)
    assert first.status_code == 200 and first.json()["result"] == "created", first.text
    again = unversioned.send(payload)
    assert again.json()["result"] == "unchanged"
    assert len(dv.rows("appointments")) == 1


def test_without_version_column_cancel_before_create_still_cancelled(unversioned, dv):
    cancel = booking_event("appointment.cancelled", appointmentId="apt_nv2", status="cancelled", updatedAt="2026-01-15T14:03:30Z")
    create = booking_event(appointmentId="apt_nv2", updatedAt="2026-01-15T14:03:10Z")
    assert unversioned.send(cancel).status_code == 200
    late = unversioned.send(create)
    assert late.status_code == 200, late.text
    [row] = dv.rows("appointments")
    assert (row["statecode"], row["statuscode"]) == (2, 4)


def test_no_personal_data_or_secret_in_logs(app, sender, dv, caplog, booking, dataverse):
    caplog.set_level("DEBUG")
    for name in ("httpx", "httpcore", "uvicorn", "asyncio", "hpack"):
        caplog.set_level("INFO", logger=name)
    key = {"x-functions-key": app.keys.default_key}
    lead = dv.create("leads", {"firstname": CUSTOMER["firstName"], "lastname": CUSTOMER["lastName"],
                               "subject": "x", "emailaddress1": CUSTOMER["email"], "telephone1": CUSTOMER["phone"]})
    loopback.post(app.url + "/api/booking-sessions", headers=key, json={"regarding": {"entity": "lead", "id": lead}})
    newcomer = {"firstName": "Wilhelmina", "lastName": "Xanthopoulos", "email": "wx.private@example.com",
                "phone": "+15555550123"}
    sender.send(booking_event(customer=newcomer))
    sender.send(booking_event(customer=newcomer, start="bad"))
    bad = json.dumps(booking_event(customer=newcomer)).encode()
    sender.send_raw(bad, {**sender.headers(bad), "webhook-signature": "v1,AAAA"})
    dataverse.faults.throttle(50, retry_after=0)
    sender.send(booking_event(customer=newcomer))
    dataverse.faults.clear()
    logged = caplog.text
    for secret in (CUSTOMER["lastName"], CUSTOMER["email"], CUSTOMER["phone"], newcomer["lastName"],
                   newcomer["email"], newcomer["phone"], "Wilhelmina", WEBHOOK_SECRET,
                   WEBHOOK_SECRET.removeprefix("whsec_"), API_KEY, app.keys.default_key):
        assert secret not in logged, secret
