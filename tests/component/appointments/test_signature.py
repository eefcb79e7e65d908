"""Signature verification on raw bytes: every way to get it wrong is a 401, never a crash."""

from __future__ import annotations

import time

import pytest
from standardwebhooks import Webhook

from integration.appointments.signature import MAX_BODY_BYTES, check_size, verify_delivery
from integration.errors import PayloadTooLarge, SignatureRejected
from tests.support.settings import WEBHOOK_SECRET
from tests.support.webhooks import signed_headers

BODY = b'{"type":"appointment.created","data":{}}'
OTHER_SECRET = "whsec_b3RoZXItc2VjcmV0LWZvci1yb3RhdGlvbi0wMQ=="


def test_valid_signature_returns_the_message_id() -> None:
    headers = signed_headers(BODY, msg_id="msg_abc")
    assert verify_delivery(BODY, headers, [WEBHOOK_SECRET]) == "msg_abc"


def test_header_names_are_case_insensitive() -> None:
    headers = {k.upper(): v for k, v in signed_headers(BODY).items()}
    assert verify_delivery(BODY, headers, [WEBHOOK_SECRET])


def test_any_configured_secret_is_accepted_for_rotation() -> None:
    headers = signed_headers(BODY, secret=OTHER_SECRET)
    assert verify_delivery(BODY, headers, [WEBHOOK_SECRET, OTHER_SECRET])
    with pytest.raises(SignatureRejected):
        verify_delivery(BODY, headers, [WEBHOOK_SECRET])


def test_one_matching_entry_among_several_is_enough() -> None:
    headers = signed_headers(BODY)
    stale = signed_headers(BODY, secret=OTHER_SECRET, msg_id=headers["webhook-id"])["webhook-signature"]
    headers["webhook-signature"] = f"{stale} v1a,aWdub3JlZA== {headers['webhook-signature']}"
    assert verify_delivery(BODY, headers, [WEBHOOK_SECRET])


def test_body_is_verified_byte_for_byte() -> None:
    headers = signed_headers(BODY)
    reserialised = BODY.replace(b",", b", ")
    with pytest.raises(SignatureRejected):
        verify_delivery(reserialised, headers, [WEBHOOK_SECRET])


@pytest.mark.parametrize("offset", [-301 - 5, 301 + 5])
def test_timestamps_outside_five_minutes_are_rejected(offset: int) -> None:
    headers = signed_headers(BODY, timestamp=time.time() + offset)
    with pytest.raises(SignatureRejected, match="tolerance"):
        verify_delivery(BODY, headers, [WEBHOOK_SECRET])


def test_timestamps_inside_five_minutes_are_accepted() -> None:
    assert verify_delivery(BODY, signed_headers(BODY, timestamp=time.time() - 240), [WEBHOOK_SECRET])


@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_missing_headers_are_rejected(missing: str) -> None:
    headers = signed_headers(BODY)
    del headers[missing]
    with pytest.raises(SignatureRejected, match="required"):
        verify_delivery(BODY, headers, [WEBHOOK_SECRET])


@pytest.mark.parametrize(
    "signature",
    ["v1", "v1,", "v1,not base64!!", "garbage", "v1,abc,def", "v1,YWJj", " ", "v2,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4="],
)
def test_malformed_signature_headers_are_rejected_not_crashed(signature: str) -> None:
    headers = signed_headers(BODY)
    headers["webhook-signature"] = signature
    with pytest.raises(SignatureRejected):
        verify_delivery(BODY, headers, [WEBHOOK_SECRET])


@pytest.mark.parametrize("timestamp", ["abc", "1.5e9", "nan", "-5", "", "99999999999999999999"])
def test_malformed_timestamps_are_rejected(timestamp: str) -> None:
    headers = signed_headers(BODY)
    headers["webhook-timestamp"] = timestamp
    with pytest.raises(SignatureRejected):
        verify_delivery(BODY, headers, [WEBHOOK_SECRET])


def test_non_utf8_body_is_rejected() -> None:
    body = b"\xff\xfe{}"
    headers = signed_headers(b"{}")
    with pytest.raises(SignatureRejected):
        verify_delivery(body, headers, [WEBHOOK_SECRET])


def test_signature_made_with_the_library_matches_the_spec_recipe() -> None:
    """HMAC-SHA256 over ``id.timestamp.body`` with the base64-decoded secret (docs/spec.md#23-post-apiwebhooksappointments)."""
    import base64
    import hashlib
    import hmac

    key = base64.b64decode(WEBHOOK_SECRET.removeprefix("whsec_"))
    now = str(int(time.time()))
    mac = hmac.new(key, b"msg_1." + now.encode() + b"." + BODY, hashlib.sha256).digest()
    headers = {"webhook-id": "msg_1", "webhook-timestamp": now, "webhook-signature": "v1," + base64.b64encode(mac).decode()}
    assert verify_delivery(BODY, headers, [WEBHOOK_SECRET]) == "msg_1"
    assert Webhook(WEBHOOK_SECRET)  # the test secret is a valid Standard Webhooks secret


def test_size_limit() -> None:
    check_size(b"x" * MAX_BODY_BYTES)
    with pytest.raises(PayloadTooLarge):
        check_size(b"x" * (MAX_BODY_BYTES + 1))
