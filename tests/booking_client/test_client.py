"""Booking client edge cases the sandbox cannot produce, driven through respx."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
from datetime import datetime, timezone

import httpx
import pytest
import respx

from booking_client import BookingClient, CrmReference, Customer, Session, SessionRequest
from booking_client.client import DEFAULT_RETRY
from booking_client.errors import BookingInvalidAnswer, BookingRejected, BookingTimeout, BookingUnavailable
from http_retry import parse_retry_after

API = "https://api.book.test/v1"
SESSIONS = API + "/sessions"
FAST = dataclasses.replace(DEFAULT_RETRY, base_delay=0.01, max_delay=0.02)  # 3 attempts, 10 s budget
REQUEST = SessionRequest(
    appointment_id=None,
    customer=Customer(first_name="Ana", last_name="Diaz", email="ana@example.com", phone="+15555550100"),
    crm_reference=CrmReference(entity="lead", id="0b6a1a2e-7a2b-4d61-9c55-1f0f3e1a2b3c"),
)


def ok(session_id: str = "sess_1", status: int = 201) -> httpx.Response:
    return httpx.Response(status, json={"sessionId": session_id, "expiresAt": "2026-01-15T14:33:22Z"})


@respx.mock
async def test_sends_contract_body_bearer_key_and_idempotency_key() -> None:
    route = respx.post(SESSIONS).mock(return_value=ok())
    async with BookingClient(API + "/", api_key="secret-key", retry=FAST) as client:
        session = await client.create_session(REQUEST, idempotency_key="key-1")

    assert session.session_id == "sess_1"
    assert session.expires_at == datetime(2026, 1, 15, 14, 33, 22, tzinfo=timezone.utc)
    sent = route.calls.last.request
    assert sent.headers["Authorization"] == "Bearer secret-key"
    assert sent.headers["Idempotency-Key"] == "key-1"
    assert json.loads(sent.content) == {
        "appointmentId": None,
        "customer": {"firstName": "Ana", "lastName": "Diaz", "email": "ana@example.com", "phone": "+15555550100"},
        "crmReference": {"entity": "lead", "id": "0b6a1a2e-7a2b-4d61-9c55-1f0f3e1a2b3c"},
    }


@respx.mock
async def test_no_authorization_header_without_a_key() -> None:
    route = respx.post(SESSIONS).mock(return_value=ok(status=200))
    async with BookingClient(API, retry=FAST) as client:
        await client.create_session(REQUEST, idempotency_key="k")
    assert "Authorization" not in route.calls.last.request.headers


@respx.mock
async def test_connection_error_is_retried_with_the_same_idempotency_key() -> None:
    route = respx.post(SESSIONS).mock(side_effect=[httpx.ConnectError("refused"), httpx.Response(503), ok()])
    async with BookingClient(API, retry=FAST) as client:
        session = await client.create_session(REQUEST, idempotency_key="same-key")
    assert session.session_id == "sess_1"
    assert [call.request.headers["Idempotency-Key"] for call in route.calls] == ["same-key"] * 3


@respx.mock
async def test_throttling_is_retried_after_the_servers_delay() -> None:
    route = respx.post(SESSIONS).mock(side_effect=[httpx.Response(429, headers={"Retry-After": "0"}), ok()])
    async with BookingClient(API, retry=FAST) as client:
        await client.create_session(REQUEST, idempotency_key="k")
    assert route.call_count == 2


@respx.mock
async def test_retry_after_beyond_the_wait_budget_gives_up_at_once() -> None:
    route = respx.post(SESSIONS).mock(return_value=httpx.Response(429, headers={"Retry-After": "120"}))
    async with BookingClient(API, retry=FAST) as client:
        with pytest.raises(BookingUnavailable) as raised:
            await client.create_session(REQUEST, idempotency_key="k")
    assert route.call_count == 1
    assert raised.value.retry_after == 120
    assert not isinstance(raised.value, BookingTimeout)


@respx.mock
@pytest.mark.parametrize("status", [502, 503, 504])
async def test_persistent_outage_is_bounded(status: int) -> None:
    route = respx.post(SESSIONS).mock(return_value=httpx.Response(status))
    async with BookingClient(API, retry=FAST) as client:
        with pytest.raises(BookingUnavailable):
            await client.create_session(REQUEST, idempotency_key="k")
    assert route.call_count == FAST.max_attempts


@respx.mock
@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 422, 500])
async def test_error_statuses_are_rejections_and_not_retried(status: int) -> None:
    route = respx.post(SESSIONS).mock(return_value=httpx.Response(status, json={"error": "nope"}))
    async with BookingClient(API, retry=FAST) as client:
        with pytest.raises(BookingRejected) as raised:
            await client.create_session(REQUEST, idempotency_key="k")
    assert route.call_count == 1
    assert raised.value.status == status


@respx.mock
async def test_read_timeout_is_a_timeout_and_not_retried() -> None:
    route = respx.post(SESSIONS).mock(side_effect=httpx.ReadTimeout("slow"))
    async with BookingClient(API, retry=FAST) as client:
        with pytest.raises(BookingTimeout):
            await client.create_session(REQUEST, idempotency_key="k")
    assert route.call_count == 1


@respx.mock
async def test_connect_timeouts_end_as_a_timeout_after_retries() -> None:
    route = respx.post(SESSIONS).mock(side_effect=httpx.ConnectTimeout("slow"))
    async with BookingClient(API, retry=FAST) as client:
        with pytest.raises(BookingTimeout):
            await client.create_session(REQUEST, idempotency_key="k")
    assert route.call_count == FAST.max_attempts


GARBAGE = [
    httpx.Response(200, text="<html><body>Login</body></html>", headers={"Content-Type": "text/html"}),
    httpx.Response(201, text="not json at all"),
    httpx.Response(201, json=[{"sessionId": "x"}]),
    httpx.Response(201, json={"session": "x"}),
    httpx.Response(201, json={"sessionId": 12345}),
    httpx.Response(201, json={"sessionId": ""}),
    httpx.Response(201, json={"sessionId": "   "}),
    httpx.Response(201, json={"sessionId": None}),
    httpx.Response(201, json={"sessionId": "ok", "expiresAt": "next tuesday"}),
    httpx.Response(201, json={"sessionId": "ok", "expiresAt": 1700000000}),
    httpx.Response(201, json={"sessionId": "x" * 5000}),
    httpx.Response(204),
    httpx.Response(302, headers={"Location": "https://elsewhere.test/"}),
    httpx.Response(201, content=b'{"sessionId": "' + b"x" * 70_000 + b'"}'),
]


@respx.mock
@pytest.mark.parametrize("answer", GARBAGE, ids=range(len(GARBAGE)))
async def test_garbage_is_an_invalid_answer_that_does_not_echo_it(answer: httpx.Response) -> None:
    respx.post(SESSIONS).mock(return_value=answer)
    async with BookingClient(API, retry=FAST) as client:
        with pytest.raises(BookingInvalidAnswer) as raised:
            await client.create_session(REQUEST, idempotency_key="k")
    message = str(raised.value)
    assert "Login" not in message and "next tuesday" not in message and "xxxx" not in message


@respx.mock
async def test_expiry_without_offset_is_read_as_utc() -> None:
    respx.post(SESSIONS).mock(return_value=httpx.Response(200, json={"sessionId": "s", "expiresAt": "2026-01-15T14:00:00"}))
    async with BookingClient(API, retry=FAST) as client:
        session = await client.create_session(REQUEST, idempotency_key="k")
    assert session.expires_at == datetime(2026, 1, 15, 14, 0, tzinfo=timezone.utc)


@respx.mock
async def test_logs_hold_no_key_customer_data_or_session_id(caplog: pytest.LogCaptureFixture) -> None:
    respx.post(SESSIONS).mock(side_effect=[httpx.Response(503), ok("sess_secret_42")])
    caplog.set_level(logging.DEBUG)
    async with BookingClient(API, api_key="top-secret-key", retry=FAST) as client:
        await client.create_session(REQUEST, idempotency_key="idem-key-9")
    logged = caplog.text
    assert logged  # the retry and the answer are logged...
    for private in ("top-secret-key", "Ana", "Diaz", "ana@example.com", "5555550100", "sess_secret_42"):
        assert private not in logged  # ...without anything private
    assert "top-secret-key" not in repr(client)


def test_the_pool_is_created_lazily_inside_the_loop_that_uses_it() -> None:
    client = BookingClient(API, retry=FAST)  # no running loop here: nothing may bind to one yet
    with respx.mock:
        respx.post(SESSIONS).mock(return_value=ok())
        for _ in range(2):  # a fresh loop each time, like tests and the dev host
            session = asyncio.run(_create_and_close(client))
            assert session.session_id == "sess_1"


async def _create_and_close(client: BookingClient) -> Session:
    try:
        return await client.create_session(REQUEST, idempotency_key="k")
    finally:
        await client.aclose()


def test_retry_after_parsing() -> None:
    now = datetime(2026, 1, 15, 14, 0, 0, tzinfo=timezone.utc)
    assert parse_retry_after("7") == 7
    assert parse_retry_after("Thu, 15 Jan 2026 14:00:30 GMT", now=now) == 30
    assert parse_retry_after("Thu, 15 Jan 2026 13:00:00 GMT", now=now) == 0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None
    assert parse_retry_after("-5") is None
