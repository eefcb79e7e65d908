"""The flow's pure parts: reading the request, the idempotency key, the redirect URL."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from integration.booking_sessions import (
    MAX_BODY_BYTES,
    idempotency_key,
    redirect_url,
    request_from_body,
    request_from_query,
)
from integration.errors import InvalidInput, PayloadTooLarge, UpstreamRejected

LEAD_ID = "0b6a1a2e-7a2b-4d61-9c55-1f0f3e1a2b3c"
TEMPLATE = "https://book.example.com:8443/start?session={sessionId}&lang=en"


def problems_of(body: bytes) -> dict[str, str]:
    with pytest.raises(InvalidInput) as raised:
        request_from_body(body)
    return {p.path: p.message for p in raised.value.problems}


def test_every_problem_is_listed_by_json_path() -> None:
    assert problems_of(b'{"regarding": {"entity": "account", "id": "42"}, "appointmentId": 7}') == {
        "$.regarding.entity": "must be 'lead' or 'contact'",
        "$.regarding.id": "must be a GUID",
        "$.appointmentId": "must be a string",
    }


@pytest.mark.parametrize("body", [b"", b"{", b"regarding=lead", b"\xff\xfe"])
def test_a_body_that_is_not_json_is_refused(body: bytes) -> None:
    assert list(problems_of(body)) == ["$"]


@pytest.mark.parametrize(
    ("body", "path"),
    [
        (b"[]", "$"),
        (b"{}", "$.regarding"),
        (b'{"regarding": "lead"}', "$.regarding"),
        (b'{"regarding": {"entity": "lead"}}', "$.regarding.id"),
        (b'{"regarding": {"entity": "lead", "id": "%s"}, "appointmentId": ""}' % LEAD_ID.encode(), "$.appointmentId"),
        (b'{"regarding": {"entity": "lead", "id": "%s"}, "appointmentId": "a\\u0000b"}' % LEAD_ID.encode(), "$.appointmentId"),
        (b'{"regarding": {"entity": "lead", "id": "%s"}, "appointmentId": "%s"}' % (LEAD_ID.encode(), b"x" * 101), "$.appointmentId"),
    ],
)
def test_malformed_fields_are_located(body: bytes, path: str) -> None:
    assert path in problems_of(body)


def test_oversized_body_is_refused_before_parsing() -> None:
    with pytest.raises(PayloadTooLarge):
        request_from_body(b" " * (MAX_BODY_BYTES + 1))


def test_caller_supplied_customer_data_is_not_part_of_the_request() -> None:
    body = b'{"regarding": {"entity": "contact", "id": "%s"}, "customer": {"email": "evil@example.com"}}' % LEAD_ID.upper().encode()
    request = request_from_body(body)
    assert str(request.regarding.id) == LEAD_ID
    assert "evil" not in request.model_dump_json()


def test_query_parameters_are_named_in_problems() -> None:
    with pytest.raises(InvalidInput) as raised:
        request_from_query({"entity": "incident", "id": "x", "appointmentId": "a\x00b"})
    assert {p.path for p in raised.value.problems} == {"entity", "id", "appointmentId"}
    assert request_from_query({"entity": "lead", "id": LEAD_ID, "appointmentId": "apt_1"}).appointment_id == "apt_1"
    assert request_from_query({"entity": "lead", "id": LEAD_ID, "appointmentId": ""}).appointment_id is None


def test_idempotency_key_is_stable_within_a_minute_and_changes_after() -> None:
    request = request_from_query({"entity": "lead", "id": LEAD_ID})
    rescheduling = request_from_query({"entity": "lead", "id": LEAD_ID, "appointmentId": "apt_1"})
    t0 = datetime(2026, 1, 15, 14, 3, 1, tzinfo=timezone.utc)
    assert idempotency_key(request, t0) == idempotency_key(request, t0 + timedelta(seconds=50))
    assert idempotency_key(request, t0) != idempotency_key(request, t0 + timedelta(minutes=1))
    assert idempotency_key(request, t0) != idempotency_key(rescheduling, t0)


@pytest.mark.parametrize(
    "session_id",
    ["/../evil", "https://evil.example/x", "a?b=c#frag", "@evil.example", "\\\\evil.example", "ünïcødé✓", "a b\r\nLocation: x"],
)
def test_hostile_session_ids_stay_on_the_booking_host(session_id: str) -> None:
    url = redirect_url(TEMPLATE, session_id)
    parts = urlsplit(url)
    assert (parts.scheme, parts.hostname, parts.port, parts.path) == ("https", "book.example.com", 8443, "/start")
    assert parse_qs(parts.query) == {"session": [session_id], "lang": ["en"]}
    assert url.isascii() and "\n" not in url


@pytest.mark.parametrize("session_id", [".", ".."])
def test_dot_segments_are_refused_in_a_path_template(session_id: str) -> None:
    with pytest.raises(UpstreamRejected):
        redirect_url("https://book.example.com/s/{sessionId}", session_id)


def test_a_template_whose_host_could_change_is_refused() -> None:
    # Settings refuse such a template; the flow checks again rather than trust that.
    with pytest.raises(UpstreamRejected):
        redirect_url("https://{sessionId}/start", "evil.example")


@settings(max_examples=200, deadline=None)
@given(st.text(min_size=1, max_size=200).filter(lambda s: s not in (".", "..")))
def test_any_session_id_round_trips_inside_the_configured_path(session_id: str) -> None:
    url = redirect_url("https://book.example.com/s/{sessionId}/start", session_id)
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.query, parts.fragment) == ("https", "book.example.com", "", "")
    assert parts.path.startswith("/s/") and parts.path.endswith("/start")
    assert unquote(parts.path[3:-6]) == session_id
