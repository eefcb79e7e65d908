"""Payload validation: every problem listed by JSON path; unknown types recognised early."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

import pytest

from integration.appointments.events import parse_event
from integration.errors import InvalidInput
from tests.support.webhooks import event


def problems(document: Any) -> dict[str, str]:
    raw = document if isinstance(document, bytes) else json.dumps(document).encode()
    with pytest.raises(InvalidInput) as caught:
        parse_event(raw)
    return {p.path: p.message for p in caught.value.problems}


def test_the_contract_example_is_valid() -> None:
    parsed = parse_event(json.dumps(event(crmReference={"entity": "lead", "id": "6F1C2B8E-0000-4000-8000-000000000001"}, staff={"email": "advisor@bank.example"})).encode())
    assert parsed is not None
    assert parsed.data.crmReference is not None and parsed.data.crmReference.id == "6f1c2b8e-0000-4000-8000-000000000001"
    assert parsed.data.start == datetime(2026, 1, 20, 20, 0, tzinfo=timezone.utc)  # 15:00-05:00, held in UTC


def test_canceled_is_read_as_cancelled() -> None:
    parsed = parse_event(json.dumps(event(status="canceled", type_="appointment.canceled")).encode())
    assert parsed is not None and parsed.data.status == "cancelled"


def test_unknown_event_types_are_not_validated() -> None:
    assert parse_event(b'{"type": "invoice.paid", "data": 42}') is None


def test_every_problem_is_listed_by_path() -> None:
    found = problems(
        event(
            appointmentId="",
            status="pending",
            updatedAt="2026-01-15T14:03:20",
            start="2026-01-20T15:00:00Z",
            end="2026-01-20T14:00:00Z",
            crmReference={"entity": "account", "id": "{not-a-guid}"},
            staff={"email": "not an email"},
        )
    )
    assert set(found) == {
        "$.data.appointmentId",
        "$.data.status",
        "$.data.updatedAt",
        "$.data.end",
        "$.data.crmReference.entity",
        "$.data.crmReference.id",
        "$.data.staff.email",
    }
    assert found["$.data.updatedAt"] == "must carry a UTC offset or Z"
    assert found["$.data.end"] == "must be after start"


def test_required_fields() -> None:
    found = problems({"type": "appointment.updated", "data": {}})
    assert {"$.data.appointmentId", "$.data.status", "$.data.updatedAt", "$.data.start", "$.data.end"} <= set(found)
    assert found["$.data.customer.email"] == "is required unless crmReference is given"


def test_email_is_optional_with_a_crm_reference() -> None:
    body = event(customer=None, crmReference={"entity": "contact", "id": "6f1c2b8e-0000-4000-8000-000000000001"})
    assert parse_event(json.dumps(body).encode()) is not None
    assert "$.data.customer.email" in problems(event(customer={"firstName": "Ana"}))


@pytest.mark.parametrize("value", [1768486400, "2026-01-20", "yesterday", None])
def test_datetimes_must_be_iso_strings_with_offset(value: Any) -> None:
    document = event()
    document["data"]["start"] = value
    assert "$.data.start" in problems(document)


def test_types_are_strict() -> None:
    found = problems(event(appointmentId=8412, customer={"email": ["ana@example.com"]}))
    assert {"$.data.appointmentId", "$.data.customer.email"} <= set(found)


@pytest.mark.parametrize("raw", [b"", b"not json", b"[1, 2]", b'"text"', b"\xff\xfe"])
def test_bodies_that_are_not_json_objects(raw: bytes) -> None:
    assert set(problems(raw)) == {"$"}


def test_missing_type_is_a_problem() -> None:
    document = event()
    del document["type"]
    assert "$.type" in problems(document)


@pytest.mark.parametrize(
    "field, value",
    [("start", "9999-12-31T20:00:00-05:00"), ("end", "0001-01-01T01:00:00+05:00"), ("updatedAt", "1700-01-01T00:00:00Z")],
)
def test_times_dataverse_cannot_store_are_a_400_naming_the_field(field: str, value: str) -> None:
    document = {"type": "appointment.updated", "data": {
        "appointmentId": "apt_1", "status": "scheduled", "updatedAt": "2026-01-15T14:03:20Z",
        "start": "2026-01-20T15:00:00Z", "end": "2026-01-20T15:30:00Z", "customer": {"email": "a@b.co"}, field: value}}
    with pytest.raises(InvalidInput) as caught:
        parse_event(json.dumps(document).encode())
    assert f"$.data.{field}" in [p.path for p in caught.value.problems]
