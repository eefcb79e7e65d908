"""Webhooks as a receiver sees them: Standard Webhooks signatures on the raw bytes, payload, retries."""

from __future__ import annotations

import json
import socket
from datetime import datetime, timedelta, timezone

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from emulators.booking import BookingSandbox
from tests.component.booking_sandbox.stage import LEAD_ID, SECRET, Receiver
from tests.support import loopback

REQUIRED = {"appointmentId", "status", "updatedAt", "start", "end"}


def verified(receiver: Receiver) -> list[dict]:
    """Every received delivery, verified on its raw bytes; raises if any signature is wrong."""
    return [Webhook(SECRET).verify(raw, headers) for headers, raw in receiver.received]


def test_every_event_is_signed_and_shaped_per_contract(sandbox, receiver, open_session):
    session_id = open_session()
    apt = sandbox.book(session_id, start="2030-01-02T15:00:00-05:00", subject="Mortgage", location="Downtown", notes="hi")
    sandbox.reschedule(apt, "2030-01-03T15:00:00-05:00", "2030-01-03T16:00:00-05:00")
    sandbox.complete(apt)
    sandbox.cancel(apt)
    assert sandbox.wait_for_deliveries(5)

    events = verified(receiver)

    assert [(e["type"], e["data"]["status"]) for e in events] == [
        ("appointment.created", "scheduled"),
        ("appointment.updated", "scheduled"),
        ("appointment.updated", "completed"),
        ("appointment.cancelled", "cancelled"),
    ]
    first = events[0]["data"]
    assert REQUIRED <= first.keys()
    assert first["appointmentId"] == apt
    assert (first["start"], first["end"]) == ("2030-01-02T15:00:00-05:00", "2030-01-02T15:30:00-05:00")
    assert (first["subject"], first["location"], first["notes"]) == ("Mortgage", "Downtown", "hi")
    assert first["crmReference"] == {"entity": "lead", "id": LEAD_ID}
    assert first["customer"] == {"firstName": "Ana", "lastName": "Diaz", "email": "ana@example.com", "phone": "+15555550100"}
    assert first["sessionId"] == session_id
    assert first["staff"] == {"email": "advisor@bank.example"}
    assert events[1]["data"]["end"] == "2030-01-03T16:00:00-05:00"
    updated = [datetime.fromisoformat(e["data"]["updatedAt"].replace("Z", "+00:00")) for e in events]
    assert updated == sorted(updated) and len(set(updated)) == 4
    assert all(e["timestamp"].endswith("Z") for e in events)
    ids = [headers["webhook-id"] for headers, _ in receiver.received]
    assert len(set(ids)) == 4
    assert [d["status"] for d in sandbox.deliveries] == [200, 200, 200, 200]
    assert sandbox.deliveries[0]["answer"] == {"result": "created"}


def test_signature_fails_on_changed_bytes_or_other_secret(sandbox, receiver, open_session):
    sandbox.book(open_session())
    assert sandbox.wait_for_deliveries(5)
    [(headers, raw)] = receiver.received

    with pytest.raises(WebhookVerificationError):
        Webhook(SECRET).verify(raw.replace(b"Ana", b"Eve"), headers)
    with pytest.raises(WebhookVerificationError):
        Webhook("whsec_" + "b3RoZXItc2VjcmV0LTAxMjM0NTY3ODlhYmNkZWY=").verify(raw, headers)
    assert abs(int(headers["webhook-timestamp"]) - datetime.now(timezone.utc).timestamp()) < 60


def test_503_is_retried_with_the_same_id_after_retry_after(sandbox, receiver, open_session):
    receiver.answer_next(503, {"Retry-After": "30"})
    receiver.answer_next(500)

    sandbox.book(open_session())
    assert sandbox.wait_for_deliveries(10)

    assert [d["status"] for d in sandbox.deliveries] == [503, 500, 200]
    assert [d["attempt"] for d in sandbox.deliveries] == [1, 2, 3]
    assert sandbox.deliveries[0]["retry_after"] == 30
    assert sandbox.deliveries[1]["waited"] == 0.2  # Retry-After honoured, capped by max_retry_after
    assert sandbox.deliveries[2]["waited"] == 0.05
    events = verified(receiver)
    assert len({json.dumps(e, sort_keys=True) for e in events}) == 1
    assert len({headers["webhook-id"] for headers, _ in receiver.received}) == 1


def test_gives_up_after_the_configured_retries(sandbox, receiver, open_session):
    for _ in range(4):
        receiver.answer_next(502)

    sandbox.book(open_session())
    assert sandbox.wait_for_deliveries(10)

    assert [d["status"] for d in sandbox.deliveries] == [502, 502, 502, 502]
    assert len(receiver.received) == 4


def test_410_stops_retries(sandbox, receiver, open_session):
    receiver.answer_next(410)

    sandbox.book(open_session())
    assert sandbox.wait_for_deliveries(5)

    assert [d["status"] for d in sandbox.deliveries] == [410]


def test_connection_errors_are_retried_and_recorded(sandbox, open_session):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    sandbox.webhook_url = f"http://127.0.0.1:{closed_port}/hook"

    sandbox.book(open_session())
    assert sandbox.wait_for_deliveries(10)

    assert [d["error"] for d in sandbox.deliveries] == ["ConnectError"] * 4
    assert all(d["status"] is None for d in sandbox.deliveries)


def test_redeliver_repeats_id_and_body(sandbox, receiver, open_session):
    sandbox.book(open_session())
    assert sandbox.wait_for_deliveries(5)
    [event] = sandbox.events

    sandbox.redeliver(event["webhook_id"])
    assert sandbox.wait_for_deliveries(5)

    (h1, raw1), (h2, raw2) = receiver.received
    assert raw1 == raw2 and h1["webhook-id"] == h2["webhook-id"] == event["webhook_id"]
    verified(receiver)


def test_reset_drops_pending_retries(sandbox, receiver, open_session):
    sandbox.webhook_url = receiver.url
    receiver.answer_next(503, {"Retry-After": "1"})
    sandbox.book(open_session())

    sandbox.reset()
    assert sandbox.wait_for_deliveries(5)

    assert sandbox.deliveries == [] and len(receiver.received) <= 1


def test_no_webhook_url_records_events_without_delivering(sandbox, receiver, open_session):
    sandbox.webhook_url = None

    sandbox.book(open_session())

    assert sandbox.wait_for_deliveries(1)
    assert [e["type"] for e in sandbox.events] == ["appointment.created"]
    assert sandbox.deliveries == [] and receiver.received == []


def test_time_zone_of_the_slots_shows_as_offset(receiver):
    zone = timezone(timedelta(hours=-5))
    with BookingSandbox(webhook_url=receiver.url, webhook_secret=SECRET, zone=zone) as sandbox:
        answer = loopback.post(
            sandbox.api_url + "/sessions",
            json={"customer": {"email": "x@example.com"}, "crmReference": {"entity": "contact", "id": LEAD_ID}},
            headers={"Idempotency-Key": "tz"},
        )
        sandbox.book(answer.json()["sessionId"])
        assert sandbox.wait_for_deliveries(5)
    [event] = verified(receiver)
    assert event["data"]["start"].endswith("-05:00")
    assert event["data"]["crmReference"]["entity"] == "contact"


def test_http_controls_emit_events(http, sandbox, receiver, open_session):
    session_id = open_session()

    booked = http.post("/_sandbox/book", json={"sessionId": session_id, "start": "2030-01-02T09:00:00Z", "subject": "S"})
    apt = booked.json()["appointmentId"]
    moved = http.post(f"/_sandbox/appointments/{apt}/reschedule", json={"start": "2030-01-03T09:00:00Z"})
    done = http.post(f"/_sandbox/appointments/{apt}/complete")
    gone = http.post(f"/_sandbox/appointments/{apt}/cancel")
    waited = http.post("/_sandbox/wait", params={"timeout": "5"})

    assert [booked.status_code, moved.status_code, done.status_code, gone.status_code, waited.status_code] == [
        201, 200, 200, 200, 200,
    ]
    assert [e["type"] for e in verified(receiver)] == [
        "appointment.created", "appointment.updated", "appointment.updated", "appointment.cancelled",
    ]
    assert len(http.get("/_sandbox/deliveries").json()) == 4
    assert http.get("/_sandbox/appointments").json()[apt]["status"] == "cancelled"


def test_http_controls_answer_bad_input_clearly(http, open_session):
    session_id = open_session()

    assert http.post("/_sandbox/book", json={"sessionId": "sess_nope"}).status_code == 404
    assert http.post("/_sandbox/book", json={"sessionId": session_id, "start": "tomorrow"}).status_code == 400
    assert http.post("/_sandbox/book", content=b"{").status_code == 400
    bad_order = {"sessionId": session_id, "start": "2030-01-02T09:00:00Z", "end": "2030-01-02T08:00:00Z"}
    assert http.post("/_sandbox/book", json=bad_order).status_code == 400
    assert http.post("/_sandbox/appointments/apt_0/cancel").status_code == 404
    assert http.post("/_sandbox/deliveries/msg_nope/redeliver").status_code == 404
