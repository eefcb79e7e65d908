"""Sentences of the contract at their edges: optional fields absent, values at Dataverse's
column limits, odd but legal input, and the slow timeouts (504 + Retry-After)."""

from __future__ import annotations

import copy
import uuid

import pytest

from tests.support import loopback
from tests.support.problems import problem, unavailable
from tests.support.webhooks import booking_event
from tests.system.contract.schedules import ROUTE as IMPORT
from tests.system.contract.schedules import bookings, run, sample


def apply(sender, payload):
    answer = sender.send(payload)
    assert answer.status_code == 200, answer.text
    return answer.json()


# docs/spec.md#23-post-apiwebhooksappointments

def test_crm_reference_alone_is_enough(sender, dv) -> None:
    lead = dv.create("leads", {"lastname": "Diaz", "subject": "x"})
    body = apply(sender, booking_event(crmReference={"entity": "lead", "id": lead}, customer=None, staff=None))
    assert body["result"] == "created" and body["regarding"] == {"entity": "lead", "id": lead}


def test_crm_reference_is_used_even_when_that_lead_is_closed(sender, dv) -> None:
    lead = dv.create("leads", {"lastname": "Diaz", "subject": "x", "emailaddress1": "ana@example.com"})
    dv.update("leads", lead, {"statecode": 1, "statuscode": 3})
    body = apply(sender, booking_event(crmReference={"entity": "lead", "id": lead}))
    assert body["regarding"] == {"entity": "lead", "id": lead}
    assert len(dv.rows("leads")) == 1


def test_only_required_fields_still_give_a_titled_appointment(sender, dv) -> None:
    payload = booking_event(subject=None, location=None, notes=None, staff=None, sessionId=None,
                    customer={"email": "bare@example.com"}, appointmentId="apt_bare")
    body = apply(sender, payload)
    row = dv.get("appointments", body["appointment"])
    assert row["subject"] and "apt_bare" in row["description"]
    [lead] = dv.rows("leads")
    assert lead["emailaddress1"] == "bare@example.com" and lead["lastname"]


def test_values_longer_than_dataverse_columns_are_still_applied(sender, dv) -> None:
    payload = booking_event(appointmentId="apt_long", subject="S" * 400, location="L" * 400, notes="N" * 5000,
                    customer={"firstName": "F" * 120, "lastName": "D" * 120, "email": "long@example.com",
                              "phone": "+1" + "5" * 80})
    body = apply(sender, payload)
    row = dv.get("appointments", body["appointment"])
    assert row["subject"].startswith("SSS") and "apt_long" in row["description"]


def test_function_key_is_not_needed_and_a_wrong_one_does_not_matter(sender, dv) -> None:
    body = booking_event()
    raw = __import__("json").dumps(body).encode()
    answer = sender.send_raw(raw, {**sender.headers(raw), "x-functions-key": "wrong"})
    assert answer.status_code == 200, answer.text


@pytest.mark.parametrize("content_type", ["text/plain", "application/json; charset=utf-8", None])
def test_content_type_does_not_change_a_signed_json_body(sender, dv, content_type) -> None:
    raw = __import__("json").dumps(booking_event()).encode()
    headers = sender.headers(raw)
    if content_type is None:
        del headers["content-type"]
    else:
        headers["content-type"] = content_type
    assert sender.send_raw(raw, headers).status_code == 200


# docs/spec.md#21-post-apibooking-sessions / #22-get-apibooking-sessionsredirect

def test_redirect_passes_appointment_id_for_a_reschedule(client, key, dv, booking, sender) -> None:
    lead = dv.create("leads", {"lastname": "Diaz", "subject": "x", "emailaddress1": "a@example.com"})
    assert sender.send(booking_event(appointmentId="apt_9", crmReference={"entity": "lead", "id": lead})).status_code == 200
    answer = client.get("/api/booking-sessions/redirect", headers=key,
                        params={"entity": "lead", "id": lead, "appointmentId": "apt_9"})
    assert answer.status_code == 302
    [call] = [r for r in booking.requests if r["path"].endswith("/sessions")]
    assert call["json"]["appointmentId"] == "apt_9"


@pytest.mark.parametrize("session_id", ["", " "])
def test_empty_session_id_from_the_booking_api_is_502(client, key, dv, booking, session_id) -> None:
    lead = dv.create("leads", {"lastname": "Diaz", "subject": "x"})
    booking.next_session_ids = [session_id]
    problem(client.post("/api/booking-sessions", headers=key, json={"regarding": {"entity": "lead", "id": lead}}),
            502)


def test_health_reports_settings_not_dataverse_reachability(app, dataverse) -> None:
    dataverse.faults.fail(10, status=503, retry_after=0)
    answer = loopback.get(app.url + "/api/health")
    dataverse.faults.clear()
    assert answer.status_code == 200 and answer.json()["status"] == "ok"


WEIRD = [
    ("POST", "/api/booking-sessions", {"content": b'{"regarding": {"entity": "lead", "id": "' + b"9" * 5000 + b'"}}'}),
    ("POST", "/api/booking-sessions", {"content": b'{"regarding": {"entity": "lead\\u0000", "id": null}}'}),
    ("POST", "/api/booking-sessions", {"content": b'{"regarding": {"entity": "lead", "id": "' +
                                       str(uuid.uuid4()).encode() + b'"}, "appointmentId": {"x": 1}}'}),
    ("POST", "/api/booking-sessions", {"content": b'{"regarding": {"entity": "lead", "id": "1", "id": "2"}}'}),
    ("GET", "/api/booking-sessions/redirect", {"params": {"entity": "lead", "id": "%00' or 1 eq 1"}}),
    ("GET", "/api/booking-sessions/redirect", {"params": [("entity", "lead"), ("entity", "contact"),
                                                          ("id", str(uuid.uuid4()))]}),
    ("POST", "/api/schedules/import", {"content": b'{"source": "x", "agents": [{"segments": [' + b"{}," * 3000 +
                                       b"{}]}]}"}),
    ("POST", "/api/schedules/import", {"content": b'{"source": 1e999, "agents": []}'}),
]


@pytest.mark.parametrize(("method", "path", "extra"), WEIRD, ids=range(len(WEIRD)))
def test_malformed_requests_get_a_clean_4xx(client, key, dv, method, path, extra) -> None:
    answer = client.request(method, path, headers={**key, "content-type": "application/json"}, **extra)
    assert 400 <= answer.status_code < 500, (answer.status_code, answer.text[:300])
    problem(answer, answer.status_code)


DEEP = b"[" * 1000 + b"]" * 1000   # answered 500 (RecursionError) on all three routes until 8ee996d


@pytest.mark.parametrize("route", ["/api/booking-sessions", "/api/schedules/import", "/api/webhooks/appointments"])
def test_deeply_nested_json_is_a_clean_400(client, key, sender, dv, route) -> None:
    headers = {**key, **sender.headers(DEEP)} if route.startswith("/api/webhooks") else {**key}
    answer = client.post(route, content=DEEP, headers={**headers, "content-type": "application/json"})
    problem(answer, (400, 413))


# docs/spec.md#24-post-apischedulesimport

def test_agent_email_matches_the_user_case_insensitively(client, key, dv) -> None:
    user = dv.create("systemusers", {"lastname": "Smith", "internalemailaddress": "A.Smith@Contoso.COM"})
    body = run(client, key, sample())
    assert body["skipped"] == [] and body["created"] == 2
    [resource] = dv.rows("bookableresources")
    assert resource["_userid_value"] == user


def test_two_agents_share_reference_data(client, key, dv) -> None:
    for email in ("a.smith@contoso.com", "b.jones@contoso.com"):
        dv.create("systemusers", {"lastname": email, "internalemailaddress": email})
    payload = sample()
    second = copy.deepcopy(payload["agents"][0])
    second.update(agentId="iex-2", name="Bo Jones", email="b.jones@contoso.com")
    payload["agents"].append(second)
    body = run(client, key, payload)
    assert body["created"] == 4
    assert body["referenceData"] == {"resources": 2, "activityTypes": 2, "statuses": 1, "plans": 1}
    assert len({b["_resource_value"] for b in bookings(dv)}) == 2


def test_default_state_is_committed(client, key, dv) -> None:
    dv.create("systemusers", {"lastname": "Smith", "internalemailaddress": "a.smith@contoso.com"})
    payload = sample()
    for segment in payload["agents"][0]["segments"]:
        segment.pop("state", None)
    assert run(client, key, payload)["created"] == 2


# Timeouts take the app's own time limits (about 10 s for the booking API; Dataverse timeouts are outages: 503).

@pytest.mark.slow  # 10 s: the booking client's own timeout, as deployed (make test-slow)
def test_booking_api_timeout_is_504_with_retry_after(client, key, dv, booking) -> None:
    lead = dv.create("leads", {"lastname": "Diaz", "subject": "x"})
    booking.fail_next(10, "hang")
    answer = client.post("/api/booking-sessions", headers=key, json={"regarding": {"entity": "lead", "id": lead}})
    booking.reset()
    unavailable(answer, (504,))


@pytest.mark.slow  # about 30 s: the app's own Dataverse timeout, as deployed (make test-slow)
def test_dataverse_timeout_is_503_with_retry_after(client, key, dv, dataverse) -> None:
    dataverse.faults.hang(50, seconds=120)
    answer = client.post(IMPORT, headers=key, json=sample())
    dataverse.faults.clear()
    unavailable(answer, (503,))
