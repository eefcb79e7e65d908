"""Attacks on the webhook's Standard Webhooks signature: each is 401 and Dataverse sees nothing.

Every attack starts from a delivery that would be accepted and changes one thing, and the
unchanged delivery is sent too (the control), so a test cannot pass because the app refuses
everything.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.system.hostile.answers import assert_rejected
from tests.system.hostile.routes import WEBHOOK
from tests.system.hostile.signing import signature, signed_headers
from tests.system.hostile.stage import CURRENT_SECRET, PREVIOUS_SECRET, RETIRED_SECRET

EVENT = {
    "type": "appointment.created",
    "timestamp": "2026-01-15T14:03:22Z",
    "data": {
        "appointmentId": "apt_sig",
        "status": "scheduled",
        "updatedAt": "2026-01-15T14:03:20Z",
        "start": "2026-01-20T15:00:00Z",
        "end": "2026-01-20T15:30:00Z",
        "customer": {"email": "ana@example.com"},
    },
}
BODY = json.dumps(EVENT).encode()
Headers = dict[str, Any]


def now() -> int:
    return int(time.time())


def deliver(http: httpx.Client, body: bytes, headers: Headers | list[tuple[str, str]]) -> httpx.Response:
    return http.post(WEBHOOK, content=body, headers=headers)


def _without(name: str) -> Callable[[bytes], tuple[bytes, Headers]]:
    def attack(body: bytes) -> tuple[bytes, Headers]:
        headers = signed_headers(body, CURRENT_SECRET)
        del headers[name]
        return body, headers

    return attack


def _replaced(name: str, value: str | bytes) -> Callable[[bytes], tuple[bytes, Headers]]:
    def attack(body: bytes) -> tuple[bytes, Headers]:
        return body, {**signed_headers(body, CURRENT_SECRET), name: value}

    return attack


def _signed_at(offset: int) -> Callable[[bytes], tuple[bytes, Headers]]:
    return lambda body: (body, signed_headers(body, CURRENT_SECRET, timestamp=now() + offset))


def _other_body(body: bytes) -> tuple[bytes, Headers]:
    other = json.dumps({**EVENT, "data": {**EVENT["data"], "status": "cancelled"}}).encode()
    return other, signed_headers(body, CURRENT_SECRET)


def _other_webhook_id(body: bytes) -> tuple[bytes, Headers]:
    return body, {**signed_headers(body, CURRENT_SECRET, msg_id="msg_signed"), "webhook-id": "msg_sent"}


def _other_timestamp(body: bytes) -> tuple[bytes, Headers]:
    headers = signed_headers(body, CURRENT_SECRET, timestamp=now() - 10)
    return body, {**headers, "webhook-timestamp": str(now())}


def _entry(version: str, digest: bytes) -> str:
    return f"{version},{base64.b64encode(digest).decode()}"


def _valid_digest(body: bytes, headers: Headers) -> bytes:
    return base64.b64decode(headers["webhook-signature"].split(",", 1)[1])


def _version(version: str) -> Callable[[bytes], tuple[bytes, Headers]]:
    """The right HMAC under another version label (v1a is ed25519, v2 does not exist)."""

    def attack(body: bytes) -> tuple[bytes, Headers]:
        headers = signed_headers(body, CURRENT_SECRET)
        return body, {**headers, "webhook-signature": _entry(version, _valid_digest(body, headers))}

    return attack


def _truncated_signature(body: bytes) -> tuple[bytes, Headers]:
    headers = signed_headers(body, CURRENT_SECRET)
    return body, {**headers, "webhook-signature": _entry("v1", _valid_digest(body, headers)[:16])}


def _key_as_signature(body: bytes) -> tuple[bytes, Headers]:
    """The secret itself (leaked in a log, say) is not a signature."""
    return body, {**signed_headers(body, CURRENT_SECRET), "webhook-signature": "v1," + CURRENT_SECRET.removeprefix("whsec_")}


def _hex_signature(body: bytes) -> tuple[bytes, Headers]:
    headers = signed_headers(body, CURRENT_SECRET)
    return body, {**headers, "webhook-signature": "v1," + _valid_digest(body, headers).hex()}


ATTACKS: dict[str, Callable[[bytes], tuple[bytes, Headers]]] = {
    "no webhook-id": _without("webhook-id"),
    "no webhook-timestamp": _without("webhook-timestamp"),
    "no webhook-signature": _without("webhook-signature"),
    "empty webhook-signature": _replaced("webhook-signature", ""),
    "version without a signature": _replaced("webhook-signature", "v1,"),
    "only separators": _replaced("webhook-signature", ", , ,"),
    "empty webhook-id": _replaced("webhook-id", ""),
    "timestamp 6 minutes old (replay)": _signed_at(-360),
    "timestamp a day old (replay)": _signed_at(-86_400),
    "timestamp 6 minutes ahead": _signed_at(360),
    "timestamp a year ahead": _signed_at(365 * 86_400),
    "timestamp zero": _signed_at(-now()),
    "timestamp not a number": _replaced("webhook-timestamp", "yesterday"),
    "timestamp in milliseconds": lambda body: (body, signed_headers(body, CURRENT_SECRET, timestamp=now() * 1000)),
    "timestamp with a fraction": _replaced("webhook-timestamp", f"{now()}.5"),
    "timestamp negative": _replaced("webhook-timestamp", "-1"),
    "timestamp with a sign": _replaced("webhook-timestamp", f"+{now()}"),
    "timestamp huge": _replaced("webhook-timestamp", "9" * 400),
    "signed by a rotated-out secret": lambda body: (body, signed_headers(body, RETIRED_SECRET)),
    "valid signature over another body": _other_body,
    "signature for another webhook-id": _other_webhook_id,
    "signature for another timestamp": _other_timestamp,
    "signature not base64": _replaced("webhook-signature", "v1,!!!not-base64!!!"),
    "signature without a version": lambda body: (body, {**signed_headers(body, CURRENT_SECRET), "webhook-signature": "K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4="}),
    "right HMAC labelled v1a": _version("v1a"),
    "right HMAC labelled v2": _version("v2"),
    "v1a entry (ed25519-sized)": _replaced("webhook-signature", _entry("v1a", b"\x01" * 64)),
    "truncated HMAC": _truncated_signature,
    "HMAC in hex": _hex_signature,
    "the secret as signature": _key_as_signature,
    "signature of an empty body": lambda body: (body, signed_headers(b"", CURRENT_SECRET)),
    "non-ASCII signature": _replaced("webhook-signature", "v1,\u00fc".encode()),
}


@pytest.mark.parametrize("attack", ATTACKS, ids=str)
def test_attack_is_401_and_dataverse_is_untouched(http: httpx.Client, dv: Any, attack: str) -> None:
    body, headers = ATTACKS[attack](BODY)
    assert_rejected(deliver(http, body, headers), 401)
    assert dv.count() == 0
    control = deliver(http, BODY, signed_headers(BODY, CURRENT_SECRET))
    assert control.status_code == 200, control.text


@pytest.mark.parametrize("duplicated", ["webhook-id", "webhook-timestamp"])
def test_a_duplicated_header_is_401(http: httpx.Client, dv: Any, duplicated: str) -> None:
    """Two values of the id or timestamp (the host joins them with ', ') never verify: the signed value is one."""
    headers = signed_headers(BODY, CURRENT_SECRET)
    raw = list(headers.items()) + [(duplicated, headers[duplicated])]
    assert_rejected(deliver(http, BODY, raw), 401)
    assert dv.count() == 0


@pytest.mark.parametrize("secret", [CURRENT_SECRET, PREVIOUS_SECRET], ids=["current", "previous"])
def test_both_secrets_of_a_rotation_are_accepted(http: httpx.Client, secret: str) -> None:
    answer = deliver(http, BODY, signed_headers(BODY, secret))
    assert answer.status_code == 200, answer.text
    assert answer.json()["result"] == "created"


@pytest.mark.parametrize("offset", [-240, 240], ids=["4 minutes old", "4 minutes ahead"])
def test_timestamps_inside_the_tolerance_are_accepted(http: httpx.Client, offset: int) -> None:
    answer = deliver(http, BODY, signed_headers(BODY, CURRENT_SECRET, timestamp=now() + offset))
    assert answer.status_code == 200, answer.text


def test_duplicated_signature_headers_without_a_valid_entry_are_401(http: httpx.Client, dv: Any) -> None:
    """Repeated webhook-signature headers (joined with ', ' by the host) add no way in."""
    headers = signed_headers(BODY, CURRENT_SECRET)
    forged = signature(RETIRED_SECRET, headers["webhook-id"], headers["webhook-timestamp"], BODY)
    repeated = [*{**headers, "webhook-signature": forged}.items(), ("webhook-signature", forged)]
    assert_rejected(deliver(http, BODY, repeated), 401)
    assert dv.count() == 0


def test_a_valid_entry_among_others_is_accepted(http: httpx.Client) -> None:
    """Standard Webhooks: several entries (rotation), any match accepts; unknown versions are skipped."""
    headers = signed_headers(BODY, CURRENT_SECRET)
    stale = signature(RETIRED_SECRET, headers["webhook-id"], headers["webhook-timestamp"], BODY)
    listed = f"v1a,{base64.b64encode(b'x' * 64).decode()} {stale} {headers['webhook-signature']}"
    answer = deliver(http, BODY, {**headers, "webhook-signature": listed})
    assert answer.status_code == 200, answer.text


def test_a_replay_inside_the_window_changes_nothing(http: httpx.Client, dv: Any) -> None:
    """The same delivery sent again (an attacker's replay or the sender's retry) is answered, not applied twice."""
    headers = signed_headers(BODY, CURRENT_SECRET)
    first = deliver(http, BODY, headers)
    writes_after_first = dv.count() - dv.count(method="GET")
    second = deliver(http, BODY, headers)
    assert (first.status_code, second.status_code) == (200, 200)
    assert second.json()["result"] == "unchanged"
    assert len(dv.rows("appointments")) == 1
    assert writes_after_first > 0


def test_a_replay_outside_the_window_is_401(http: httpx.Client, dv: Any) -> None:
    """A captured delivery, resent six minutes later with its original headers."""
    captured = signed_headers(BODY, CURRENT_SECRET, timestamp=now() - 361)
    assert_rejected(deliver(http, BODY, captured), 401)
    assert dv.count() == 0


def test_an_empty_secret_list_lets_nothing_in(http: httpx.Client, dv: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """No secret configured: a misconfiguration (503 naming the setting, docs/spec.md#1-settings), never an open door."""
    monkeypatch.setenv("BOOKING_WEBHOOK_SECRET", "")
    answer = deliver(http, BODY, signed_headers(BODY, CURRENT_SECRET))
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.status_code == 503
    assert answer.json()["settings"] == ["BOOKING_WEBHOOK_SECRET"]
    assert dv.count() == 0


def test_the_refusal_does_not_say_which_secret_or_entry_came_close(http: httpx.Client) -> None:
    """A 401 names what is wrong with the delivery, never a secret or the expected signature."""
    headers = signed_headers(BODY, RETIRED_SECRET)
    problem = assert_rejected(deliver(http, BODY, headers), 401)
    expected = signature(CURRENT_SECRET, headers["webhook-id"], headers["webhook-timestamp"], BODY)
    text = json.dumps(problem)
    for secret in (CURRENT_SECRET, PREVIOUS_SECRET, RETIRED_SECRET, expected):
        assert secret.split(",")[-1].removeprefix("whsec_") not in text
