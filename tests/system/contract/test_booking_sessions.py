"""docs/spec.md#21-post-apibooking-sessions and #22-get-apibooking-sessionsredirect (the ribbon button's calls) and #3-the-booking-api-the-app-calls (what the booking API receives)."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from tests.support import loopback
from tests.support.apphost import start_host, stop_host
from tests.support.problems import problem, unavailable
from tests.support.webhooks import booking_event
from tests.system.contract.dataverse_admin import DataverseAdmin
from tests.system.contract.stage import API_KEY, base_settings

ROUTE = "/api/booking-sessions"
REDIRECT = "/api/booking-sessions/redirect"
PERSON = {"firstname": "Ana", "lastname": "Diaz", "emailaddress1": "ana.diaz@example.com", "telephone1": "+15555550100"}


def seed(dv: DataverseAdmin, entity: str, **values: Any) -> str:
    row = {**PERSON, **values}
    if entity == "lead":
        row.setdefault("subject", "Mortgage enquiry")
    return dv.create(f"{entity}s", row)


def session_calls(booking: Any) -> list[dict[str, Any]]:
    return [r for r in booking.requests if r["method"] == "POST" and r["path"].endswith("/sessions")]


@pytest.mark.parametrize("entity", ["lead", "contact"])
def test_session_created_with_customer_read_from_dataverse(client, key, dv, booking, entity) -> None:
    record = seed(dv, entity)
    answer = client.post(ROUTE, headers=key, json={"regarding": {"entity": entity, "id": record}})
    assert answer.status_code == 201, answer.text
    assert answer.headers["content-type"].startswith("application/json")
    body = answer.json()
    assert set(body) == {"sessionId", "redirectUrl", "expiresAt"}
    assert body["sessionId"] in booking.sessions
    assert body["redirectUrl"] == booking.redirect_template().replace("{sessionId}", body["sessionId"])
    assert body["expiresAt"] is None or _is_iso(body["expiresAt"])

    [call] = session_calls(booking)
    assert call["headers"]["authorization"] == f"Bearer {API_KEY}"
    assert call["headers"].get("idempotency-key")
    assert call["json"] == {
        "appointmentId": None,
        "customer": {"firstName": "Ana", "lastName": "Diaz", "email": "ana.diaz@example.com", "phone": "+15555550100"},
        "crmReference": {"entity": entity, "id": record},
    }


def test_caller_supplied_customer_data_is_ignored(client, key, dv, booking) -> None:
    lead = seed(dv, "lead")
    hostile = {"firstName": "Mallory", "lastName": "X", "email": "mallory@evil.example", "phone": "+1999"}
    answer = client.post(ROUTE, headers=key, json={"regarding": {"entity": "lead", "id": lead},
                                                    "customer": hostile, "email": "mallory@evil.example"})
    assert answer.status_code == 201, answer.text  # extra fields are ignored, not an error
    [call] = session_calls(booking)
    assert call["json"]["customer"]["email"] == "ana.diaz@example.com"
    assert "mallory" not in str(call["json"]).lower()


def test_appointment_id_is_passed_for_a_reschedule(client, key, dv, booking, sender) -> None:
    contact = seed(dv, "contact")
    booked = sender.send(booking_event(appointmentId="apt_8412", crmReference={"entity": "contact", "id": contact}))
    assert booked.status_code == 200, booked.text
    answer = client.post(ROUTE, headers=key, json={"regarding": {"entity": "contact", "id": contact},
                                                    "appointmentId": "apt_8412"})
    assert answer.status_code == 201, answer.text
    [call] = session_calls(booking)
    assert call["json"]["appointmentId"] == "apt_8412"


def test_another_records_appointment_cannot_be_taken_over(client, key, dv, booking, sender) -> None:
    victim, attacker = seed(dv, "lead"), seed(dv, "lead", emailaddress1="other@example.com")
    booked = sender.send(booking_event(appointmentId="apt_victim", crmReference={"entity": "lead", "id": victim}))
    assert booked.status_code == 200, booked.text
    for appointment_id in ("apt_victim", "apt_never_booked"):
        answer = client.post(ROUTE, headers=key, json={"regarding": {"entity": "lead", "id": attacker},
                                                        "appointmentId": appointment_id})
        problem(answer, 404)
        redirect = client.get(REDIRECT, headers=key, params={"entity": "lead", "id": attacker,
                                                             "appointmentId": appointment_id})
        problem(redirect, 404)
    assert session_calls(booking) == []


def test_upper_case_guid_and_missing_optional_fields_accepted(client, key, dv, booking) -> None:
    lead = dv.create("leads", {"lastname": "Diaz", "subject": "Walk-in"})
    answer = client.post(ROUTE, headers=key, json={"regarding": {"entity": "lead", "id": lead.upper()}})
    assert answer.status_code == 201, answer.text
    [call] = session_calls(booking)
    assert call["json"]["crmReference"]["id"].lower() == lead
    assert call["json"]["customer"]["lastName"] == "Diaz"


def test_retried_click_sends_a_fresh_idempotency_key_per_session_request(client, key, dv, booking) -> None:
    lead = seed(dv, "lead")
    for _ in range(2):
        assert client.post(ROUTE, headers=key, json={"regarding": {"entity": "lead", "id": lead}}).status_code == 201
    keys = [c["headers"]["idempotency-key"] for c in session_calls(booking)]
    assert len(keys) == 2 and all(1 <= len(k) <= 255 for k in keys)


HOSTILE_IDS = ["../../evil.example/x", "a&session=evil#frag", "https://evil.example/", "//evil.example", "s p?a=c@e"]


@pytest.mark.parametrize("session_id", HOSTILE_IDS)
def test_redirect_only_to_configured_host_with_percent_encoded_id(client, key, dv, booking, session_id) -> None:
    lead = seed(dv, "lead")
    booking.next_session_ids = [session_id]
    answer = client.post(ROUTE, headers=key, json={"regarding": {"entity": "lead", "id": lead}})
    if answer.status_code != 201:          # refusing a hostile id is also safe, but must be a clean 502
        problem(answer, 502)
        return
    redirect = urlsplit(answer.json()["redirectUrl"])
    configured = urlsplit(booking.redirect_template())
    assert (redirect.scheme, redirect.netloc, redirect.path) == (configured.scheme, configured.netloc, configured.path)
    assert redirect.fragment == ""
    assert parse_qs(redirect.query) == {"session": [session_id]}
    raw = redirect.query.removeprefix("session=")
    assert unquote(raw) == session_id and not set(raw) & set("/?#&@: ")


@pytest.fixture
def path_template_app(dataverse_server, booking_system):
    settings = {**base_settings(dataverse_server.url, booking_system),
                "BOOKING_REDIRECT_URL": "https://book.example.com/s/{sessionId}/start"}
    host = start_host(settings)
    try:
        yield host
    finally:
        stop_host(host)


def test_session_id_in_a_path_template_cannot_leave_its_segment(path_template_app, dv, booking) -> None:
    lead = seed(dv, "lead")
    booking.next_session_ids = ["../../../evil"]
    answer = loopback.post(path_template_app.url + ROUTE, headers={"x-functions-key": path_template_app.keys.default_key},
                        json={"regarding": {"entity": "lead", "id": lead}})
    assert answer.status_code == 201, answer.text
    redirect = urlsplit(answer.json()["redirectUrl"])
    assert redirect.netloc == "book.example.com"
    segments = redirect.path.split("/")
    assert len(segments) == 4 and segments[1] == "s" and segments[3] == "start", redirect.path
    assert unquote(segments[2]) == "../../../evil"


BAD_BODIES = [
    b"not json",
    b"",
    b"[]",
    b'{"regarding": {"entity": "account", "id": "6f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"}}',
    b'{"regarding": {"entity": "lead", "id": "not-a-guid"}}',
    b'{"regarding": {"entity": "lead", "id": "6f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d\') or (1 eq 1"}}',
    b'{"regarding": {"entity": "lead"}}',
    b'{"regarding": "lead"}',
    b'{"appointmentId": "apt_1"}',
    b'{"regarding": {"entity": "lead", "id": 12}}',
    b'\xff\xfe{"regarding"',
]


@pytest.mark.parametrize("body", BAD_BODIES)
def test_bad_request_bodies_are_400_and_nothing_is_asked(client, key, dv, booking, body) -> None:
    dv.clear_log()
    answer = client.post(ROUTE, headers={**key, "content-type": "application/json"}, content=body)
    problem(answer, 400)
    assert session_calls(booking) == []
    assert dv.request_count() == 0


@pytest.mark.parametrize("entity", ["lead", "contact"])
def test_record_not_in_dataverse_is_404(client, key, dv, booking, entity) -> None:
    answer = client.post(ROUTE, headers=key, json={"regarding": {"entity": entity, "id": str(uuid.uuid4())}})
    problem(answer, 404)
    assert session_calls(booking) == []


@pytest.mark.parametrize("mode", ["reject400", "error500", "garbage"])
def test_booking_api_error_or_garbage_is_502(client, key, dv, booking, mode) -> None:
    lead = seed(dv, "lead")
    booking.fail_next(10, mode)
    problem(client.post(ROUTE, headers=key, json={"regarding": {"entity": "lead", "id": lead}}), 502)


@pytest.mark.parametrize("mode", ["throttle", "unavailable503"])
def test_booking_api_throttling_is_503_or_504_with_retry_after(client, key, dv, booking, mode) -> None:
    lead = seed(dv, "lead")
    booking.fail_next(10, mode)
    unavailable(client.post(ROUTE, headers=key, json={"regarding": {"entity": "lead", "id": lead}}))


def test_booking_api_unreachable_is_503_or_504_with_retry_after(dataverse_server, booking_system, dv) -> None:
    lead = seed(dv, "lead")
    settings = {**base_settings(dataverse_server.url, booking_system), "BOOKING_API_URL": "http://127.0.0.1:9/api"}
    host = start_host(settings)
    try:
        answer = loopback.post(host.url + ROUTE, headers={"x-functions-key": host.keys.default_key},
                            json={"regarding": {"entity": "lead", "id": lead}}, timeout=60)
    finally:
        stop_host(host)
    unavailable(answer)


def test_dataverse_throttling_is_503_with_retry_after(client, key, dataverse, dv, booking) -> None:
    lead = seed(dv, "lead")
    dataverse.faults.throttle(50, retry_after=0)
    answer = client.post(ROUTE, headers=key, json={"regarding": {"entity": "lead", "id": lead}})
    dataverse.faults.clear()
    unavailable(answer)
    assert session_calls(booking) == []


def test_dataverse_outage_is_503_with_retry_after(client, key, dataverse, dv, booking) -> None:
    lead = seed(dv, "lead")
    dataverse.faults.fail(50, status=503, retry_after=0)
    answer = client.post(ROUTE, headers=key, json={"regarding": {"entity": "lead", "id": lead}})
    dataverse.faults.clear()
    unavailable(answer)


def test_function_key_required(client, app, dv) -> None:
    body = {"regarding": {"entity": "lead", "id": str(uuid.uuid4())}}
    assert client.post(ROUTE, json=body).status_code == 401
    assert client.post(ROUTE, json=body, headers={"x-functions-key": "wrong"}).status_code == 401
    assert client.get(REDIRECT, params={"entity": "lead", "id": body["regarding"]["id"]}).status_code == 401
    assert client.post(ROUTE, json=body, params={"code": app.keys.default_key}).status_code == 404


# docs/spec.md#22-get-apibooking-sessionsredirect

def test_redirect_is_302_to_the_session_page(client, key, dv, booking) -> None:
    lead = seed(dv, "lead")
    answer = client.get(REDIRECT, headers=key, params={"entity": "lead", "id": lead})
    assert answer.status_code == 302, answer.text
    [session_id] = booking.sessions
    assert answer.headers["location"] == booking.redirect_template().replace("{sessionId}", session_id)
    [call] = session_calls(booking)
    assert call["json"]["crmReference"] == {"entity": "lead", "id": lead}
    assert call["json"]["customer"]["email"] == PERSON["emailaddress1"]


def test_redirect_with_key_in_query_as_a_button_url_would(client, app, dv, booking) -> None:
    contact = seed(dv, "contact")
    answer = client.get(REDIRECT, params={"entity": "contact", "id": contact, "code": app.keys.default_key})
    assert answer.status_code == 302
    assert urlsplit(answer.headers["location"]).netloc == urlsplit(booking.url).netloc


@pytest.mark.parametrize("params", [{"entity": "account", "id": "6f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"},
                                    {"entity": "lead", "id": "x"}, {"entity": "lead"}, {}])
def test_redirect_bad_query_is_400(client, key, booking, params) -> None:
    problem(client.get(REDIRECT, headers=key, params=params), 400)
    assert session_calls(booking) == []


def test_redirect_unknown_record_is_404(client, key, dv) -> None:
    problem(client.get(REDIRECT, headers=key, params={"entity": "lead", "id": str(uuid.uuid4())}), 404)


def test_redirect_booking_api_failure_is_502_not_a_redirect(client, key, dv, booking) -> None:
    lead = seed(dv, "lead")
    booking.fail_next(10, "error500")
    answer = client.get(REDIRECT, headers=key, params={"entity": "lead", "id": lead})
    problem(answer, 502)
    assert "location" not in answer.headers


def _is_iso(value: str) -> bool:
    from datetime import datetime

    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True
