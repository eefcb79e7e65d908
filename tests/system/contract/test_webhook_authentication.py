"""docs/spec.md#23-post-apiwebhooksappointments: who may call the webhook (Standard Webhooks signatures) and which bodies
it refuses. A refused call reads and writes nothing in Dataverse."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from tests.support.apphost import start_host, stop_host
from tests.support.problems import problem
from tests.support.webhooks import Sender, booking_event, new_secret
from tests.system.contract.stage import WEBHOOK_SECRET, base_settings

LEAD_REF = {"entity": "lead", "id": "6f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"}


def body_of(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload).encode()


def refused(answer, dv) -> None:
    problem(answer, 401)
    assert dv.request_count() == 0, dv.logged()


@pytest.fixture
def quiet(dv):
    """Dataverse with an empty request log, to show that a refused call touched nothing."""
    dv.clear_log()
    return dv


def test_valid_signature_without_function_key_is_accepted(sender, dv) -> None:
    answer = sender.send(booking_event())
    assert answer.status_code == 200, answer.text
    assert answer.json()["result"] == "created"


@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_missing_header_is_401(sender, quiet, missing) -> None:
    body = body_of(booking_event())
    headers = sender.headers(body)
    del headers[missing]
    refused(sender.send_raw(body, headers), quiet)


def test_no_signature_headers_at_all_is_401(sender, quiet) -> None:
    refused(sender.send_raw(body_of(booking_event()), {"content-type": "application/json"}), quiet)


def test_signed_with_another_secret_is_401(app, quiet) -> None:
    stranger = Sender(app.url, new_secret())
    try:
        refused(stranger.send(booking_event()), quiet)
    finally:
        stranger.close()


def test_body_changed_after_signing_is_401(sender, quiet) -> None:
    body = body_of(booking_event())
    headers = sender.headers(body)
    refused(sender.send_raw(body.replace(b"Downtown", b"Uptown"), headers), quiet)


def test_reserialised_body_is_not_what_was_signed(sender, quiet) -> None:
    payload = booking_event()
    signed = json.dumps(payload, indent=2).encode()
    headers = sender.headers(signed)
    refused(sender.send_raw(json.dumps(payload).encode(), headers), quiet)


def test_webhook_id_changed_after_signing_is_401(sender, quiet) -> None:
    body = body_of(booking_event())
    headers = sender.headers(body, msg_id="msg_original")
    refused(sender.send_raw(body, {**headers, "webhook-id": "msg_other"}), quiet)


@pytest.mark.parametrize("minutes", [-6, 6, -60 * 24])
def test_timestamp_outside_five_minutes_is_401(sender, quiet, minutes) -> None:
    refused(sender.send(booking_event(), skew=timedelta(minutes=minutes)), quiet)


@pytest.mark.parametrize("minutes", [-4, 4])
def test_timestamp_inside_five_minutes_is_accepted(sender, dv, minutes) -> None:
    assert sender.send(booking_event(), skew=timedelta(minutes=minutes)).status_code == 200


@pytest.mark.parametrize("value", ["abc", "", "1.5e9", "-1", "99999999999999999999"])
def test_malformed_timestamp_is_401(sender, quiet, value) -> None:
    body = body_of(booking_event())
    headers = sender.headers(body)
    refused(sender.send_raw(body, {**headers, "webhook-timestamp": value}), quiet)


MALFORMED_SIGNATURES = ["", "garbage", "v1,", "v1,!!!not-base64!!!", "v1", ",", "v1,,,", "v2,{good}", "v1a,{good}",
                        "v1," + "A" * 10000]


@pytest.mark.parametrize("template", MALFORMED_SIGNATURES, ids=range(len(MALFORMED_SIGNATURES)))
def test_malformed_or_unknown_version_signature_is_401(sender, quiet, template) -> None:
    body = body_of(booking_event())
    headers = sender.headers(body)
    good = headers["webhook-signature"].split(",", 1)[1]
    refused(sender.send_raw(body, {**headers, "webhook-signature": template.replace("{good}", good)}), quiet)


def test_one_valid_entry_among_several_is_accepted(sender, dv) -> None:
    body = body_of(booking_event())
    headers = sender.headers(body)
    other = "v1," + base64.b64encode(b"x" * 32).decode()
    answer = sender.send_raw(body, {**headers, "webhook-signature": f"v1a,abc {other} {headers['webhook-signature']}"})
    assert answer.status_code == 200, answer.text


def test_secret_rotation_accepts_old_and_new_secret(dataverse_server, booking_system, dv) -> None:
    new = new_secret()
    host = start_host({**base_settings(dataverse_server.url, booking_system),
                       "BOOKING_WEBHOOK_SECRET": f"{WEBHOOK_SECRET} {new}"})
    senders = [Sender(host.url, WEBHOOK_SECRET), Sender(host.url, new), Sender(host.url, new_secret())]
    try:
        assert senders[0].send(booking_event()).status_code == 200
        assert senders[1].send(booking_event()).status_code == 200
        dv.clear_log()
        refused(senders[2].send(booking_event()), dv)
    finally:
        for s in senders:
            s.close()
        stop_host(host)


def test_unsigned_oversized_body_is_refused_without_touching_dataverse(sender, quiet) -> None:
    body = b'{"x": "' + b"a" * 300_000 + b'"}'
    answer = sender.send_raw(body, {"content-type": "application/json"})
    problem(answer, (401, 413))
    assert quiet.request_count() == 0


# 400: signed, but not an event the app can apply

def _without(field: str) -> dict[str, Any]:
    payload = booking_event(crmReference=LEAD_REF)
    del payload["data"][field]
    return payload


BAD_EVENTS = {
    "not json": b"this is not json",
    "json array": b"[1, 2]",
    "json string": b'"appointment.created"',
    "no data": json.dumps({"type": "appointment.created", "timestamp": "2026-01-15T14:03:22Z"}).encode(),
    "data not object": json.dumps({"type": "appointment.created", "data": [1]}).encode(),
    **{f"no {f}": body_of(_without(f)) for f in ("appointmentId", "status", "updatedAt", "start", "end")},
    "empty appointmentId": body_of(booking_event(appointmentId="")),
    "unknown status": body_of(booking_event(status="pending")),
    "end before start": body_of(booking_event(end="2026-01-20T14:30:00-05:00")),
    "end equals start": body_of(booking_event(end="2026-01-20T15:00:00-05:00")),
    "start without offset": body_of(booking_event(start="2026-01-20T15:00:00", end="2026-01-20T15:30:00")),
    "updatedAt without offset": body_of(booking_event(updatedAt="2026-01-15T14:03:20")),
    "start not a time": body_of(booking_event(start="next tuesday")),
    "start a number": body_of(booking_event(start=1768939200)),
    "no email no crmReference": body_of(booking_event(customer={"firstName": "Ana", "lastName": "Diaz"})),
    "no customer no crmReference": body_of(booking_event(customer=None)),
    "crmReference bad id": body_of(booking_event(crmReference={"entity": "lead", "id": "1' or '1'='1"})),
    "crmReference bad entity": body_of(booking_event(crmReference={"entity": "account", "id": LEAD_REF["id"]})),
    "status a number": body_of(booking_event(status=3)),
}


@pytest.mark.parametrize("body", BAD_EVENTS.values(), ids=BAD_EVENTS.keys())
def test_signed_but_invalid_event_is_400_and_writes_nothing(sender, quiet, body) -> None:
    problem(sender.send_raw(body, sender.headers(body)), 400)
    assert quiet.writes() == []


def test_signed_non_utf8_body_is_400_not_401(sender, quiet) -> None:
    body = b'{"type": "appointment.created", "data": {"notes": "\xff\xfe"}}'
    msg_id, stamp = "msg_raw_bytes", str(int(datetime.now(timezone.utc).timestamp()))
    key = base64.b64decode(WEBHOOK_SECRET.removeprefix("whsec_"))
    digest = hmac.new(key, msg_id.encode() + b"." + stamp.encode() + b"." + body, hashlib.sha256).digest()
    headers = {"content-type": "application/json", "webhook-id": msg_id, "webhook-timestamp": stamp,
               "webhook-signature": "v1," + base64.b64encode(digest).decode()}
    problem(sender.send_raw(body, headers), 400)
    assert quiet.writes() == []


def test_body_over_256_kib_is_413(sender, quiet) -> None:
    payload = booking_event(notes="")
    base = len(body_of(payload))
    payload["data"]["notes"] = "n" * (256 * 1024 - base + 1)
    body = body_of(payload)
    assert len(body) == 256 * 1024 + 1
    problem(sender.send_raw(body, sender.headers(body)), 413)
    assert quiet.writes() == []


def test_body_of_exactly_256_kib_is_not_413(sender, dv) -> None:
    payload = booking_event(notes="")
    payload["padding"] = ""
    payload["padding"] = "p" * (256 * 1024 - len(body_of(payload)))
    body = body_of(payload)
    assert len(body) == 256 * 1024
    answer = sender.send_raw(body, sender.headers(body))
    assert answer.status_code == 200, answer.text[:300]


@pytest.mark.parametrize("kind", ["appointment.reminder", "invoice.paid", "appointment"])
def test_unhandled_event_type_is_ignored(sender, quiet, kind) -> None:
    answer = sender.send(booking_event(kind))
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"result": "ignored"}
    assert quiet.writes() == []
