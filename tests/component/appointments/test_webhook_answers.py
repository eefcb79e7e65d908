"""What the webhook answers to bad, unsigned, oversized and unknown deliveries (docs/spec.md#23-post-apiwebhooksappointments table)."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from integration.appointments.signature import MAX_BODY_BYTES
from tests.support.handlers import Deliver
from tests.support.settings import WEBHOOK_SECRET
from tests.support.webhooks import event, signed_headers

OTHER_SECRET = "whsec_b3RoZXItc2VjcmV0LWZvci1yb3RhdGlvbi0wMQ=="


def raw(document: Any) -> bytes:
    return json.dumps(document).encode()


def unsigned_variants() -> list[tuple[str, Any]]:
    body = raw(event())

    def tweak(**changes: str | None) -> dict[str, str]:
        headers = signed_headers(body)
        for name, value in changes.items():
            name = name.replace("_", "-")
            if value is None:
                headers.pop(name)
            else:
                headers[name] = value
        return headers

    return [
        ("wrong secret", signed_headers(body, secret=OTHER_SECRET)),
        ("stale timestamp", signed_headers(body, timestamp=time.time() - 600)),
        ("future timestamp", signed_headers(body, timestamp=time.time() + 600)),
        ("missing id", tweak(webhook_id=None)),
        ("missing timestamp", tweak(webhook_timestamp=None)),
        ("missing signature", tweak(webhook_signature=None)),
        ("no headers", {}),
        ("signature without comma", tweak(webhook_signature="v1")),
        ("signature not base64", tweak(webhook_signature="v1,%%%")),
        ("timestamp not a number", tweak(webhook_timestamp="soon")),
        ("other message id", tweak(webhook_id="msg_replayed")),
    ]


@pytest.mark.parametrize("case,headers", unsigned_variants(), ids=[c for c, _ in unsigned_variants()])
async def test_unverified_deliveries_get_401_and_never_reach_dataverse(
    deliver: Deliver, dataverse: Any, case: str, headers: dict[str, str]
) -> None:
    answer = await deliver(raw(event()), headers)

    assert answer.status == 401, case
    assert answer.mimetype == "application/problem+json"
    assert answer.body["status"] == 401
    assert dataverse.count() == 0


async def test_tampered_body_gets_401(deliver: Deliver, dataverse: Any) -> None:
    body = raw(event())
    headers = signed_headers(body)
    answer = await deliver(body.replace(b"Downtown", b"Uptown!!"), headers)
    assert answer.status == 401
    assert dataverse.count() == 0


async def test_rotated_secrets_are_all_accepted(deliver: Deliver, dataverse: Any, app_settings: dict[str, str]) -> None:
    app_settings["BOOKING_WEBHOOK_SECRET"] = f"{OTHER_SECRET} {WEBHOOK_SECRET}"
    body = raw(event())
    for secret in (OTHER_SECRET, WEBHOOK_SECRET):
        answer = await deliver(body, signed_headers(body, secret=secret))
        assert answer.status == 200, answer.body


async def test_oversize_body_gets_413_before_verification(deliver: Deliver, dataverse: Any) -> None:
    document = event(notes="x" * MAX_BODY_BYTES)
    answer = await deliver(raw(document))
    assert answer.status == 413
    assert dataverse.count() == 0
    unsigned = await deliver(raw(document), {})
    assert unsigned.status == 413


async def test_body_just_under_the_limit_is_accepted(deliver: Deliver, dataverse: Any) -> None:
    document = event()
    document["data"]["notes"] = ""
    padding = MAX_BODY_BYTES - len(raw(document))
    document["data"]["notes"] = "n" * padding
    assert len(raw(document)) == MAX_BODY_BYTES
    answer = await deliver(raw(document))
    assert answer.status == 200, answer.body
    assert len(dataverse.rows("appointments")[0]["description"]) <= 2000


async def test_invalid_body_lists_every_problem_and_writes_nothing(deliver: Deliver, dataverse: Any) -> None:
    document = event(status="postponed", end="2026-01-20T14:00:00-05:00", updatedAt="2026-01-15 14:03")
    del document["data"]["customer"]["email"]

    answer = await deliver(raw(document))

    assert answer.status == 400
    assert answer.mimetype == "application/problem+json"
    assert {e["path"] for e in answer.body["errors"]} == {
        "$.data.status", "$.data.end", "$.data.updatedAt", "$.data.customer.email",
    }
    assert dataverse.count() == 0


@pytest.mark.parametrize("body", [b"not json", b"[]", b'"appointment.created"', b"", b"\xff\xfe{}"])
async def test_signed_non_json_gets_400(deliver: Deliver, dataverse: Any, body: bytes) -> None:
    answer = await deliver(body)
    assert answer.status == 400
    assert answer.body["errors"][0]["path"] == "$"
    assert dataverse.count() == 0


async def test_unknown_event_type_is_acknowledged_and_ignored(deliver: Deliver, dataverse: Any) -> None:
    answer = await deliver({"type": "customer.updated", "data": {"anything": True}})
    assert (answer.status, answer.body) == (200, {"result": "ignored"})
    assert dataverse.count() == 0


async def test_unknown_event_type_still_needs_a_signature(deliver: Deliver, dataverse: Any) -> None:
    answer = await deliver(raw({"type": "customer.updated"}), {})
    assert answer.status == 401


async def test_answers_carry_no_personal_data_in_logs(
    deliver: Deliver, dataverse: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG")
    await deliver(event(customer={"firstName": "Ana", "lastName": "Diaz", "email": "ana@example.com", "phone": "+15555550100"}))
    await deliver(raw(event(status="bogus")))
    text = caplog.text
    for secret in ("ana@example.com", "Diaz", "+15555550100", WEBHOOK_SECRET):
        assert secret not in text
