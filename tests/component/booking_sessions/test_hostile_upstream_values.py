"""Numbers and dates that the booking API and Dataverse send back, at their worst.

Each value is answered for real by the booking sandbox or the Dataverse emulator; the app must
answer the caller with a sane status and a sane ``Retry-After`` (1-300 ASCII digits), never
a 500 and never an exception out of the handler.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from tests.support.booking import session_requests
from tests.support.handlers import answer, post_session

ANA = {"firstname": "Ana", "lastname": "Diaz", "emailaddress1": "ana.diaz@example.com"}

# Values that RFC 9110 allows (a non-negative integer or an HTTP-date) but that ask for more
# than any caller may wait: clamped, so the client gives up at once.
HUGE = ["9" * 400, "4294967296", "Fri, 31 Dec 9999 23:59:59 GMT"]
# Anything else is absent: the client falls back to its own backoff and retries.
UNREADABLE = ["inf", "Infinity", "1e400", "nan", "-5", "-0", "+5", "2.5", "\u00b2", "\u00b9\u00b2", " ", "soon",
              "Thu, 30 Feb 2026 10:00:00 GMT", "Thu, 15 Jan 2026 14:00:00 +0100"]
PAST = ["0", "Thu, 01 Jan 1970 00:00:00 GMT"]


@pytest.fixture
def lead_id(dataverse: Any) -> str:
    return dataverse.insert("leads", ANA)


def sane_retry_after(response: Any) -> int:
    header = response.headers["Retry-After"]
    assert re.fullmatch(r"[0-9]{1,3}", header), header
    seconds = int(header)
    assert 1 <= seconds <= 300
    assert json.loads(response.get_body())["retryAfter"] == seconds
    return seconds


@pytest.mark.parametrize("value", HUGE)
async def test_booking_api_huge_retry_after_is_clamped_and_not_waited_for(
    app_root, booking_env, sandbox, lead_id, value
):
    sandbox.fail_next(3, "throttle", retry_after=value)
    response = await post_session(app_root, {"regarding": {"entity": "lead", "id": lead_id}})

    assert response.status_code == 503, response.get_body()
    assert sane_retry_after(response) == 300
    assert len(session_requests(sandbox)) == 1  # 300 s is past the wait budget: no retry


@pytest.mark.parametrize("value", UNREADABLE + PAST)
async def test_booking_api_unreadable_retry_after_counts_as_absent(app_root, booking_env, sandbox, lead_id, value):
    sandbox.fail_next(1, "unavailable503", retry_after=value)
    response = await post_session(app_root, {"regarding": {"entity": "lead", "id": lead_id}})

    assert response.status_code == 201, response.get_body()
    assert len(session_requests(sandbox)) == 2


async def test_booking_api_unreadable_retry_after_on_every_attempt_is_a_503(app_root, booking_env, sandbox, lead_id):
    sandbox.fail_next(3, "throttle", retry_after="\u00b2")
    response = await post_session(app_root, {"regarding": {"entity": "lead", "id": lead_id}})

    assert response.status_code == 503, response.get_body()
    sane_retry_after(response)
    assert len(session_requests(sandbox)) == 3


@pytest.mark.parametrize("value", HUGE)
async def test_dataverse_huge_retry_after_is_clamped_and_not_waited_for(
    app_root, booking_env, sandbox, dataverse, lead_id, value
):
    dataverse.faults.throttle(5, retry_after=value, method="GET")
    response = await post_session(app_root, {"regarding": {"entity": "lead", "id": lead_id}})

    assert response.status_code == 503, response.get_body()
    assert sane_retry_after(response) == 300
    assert dataverse.count(method="GET") == 1
    assert session_requests(sandbox) == []


@pytest.mark.parametrize("value", UNREADABLE + PAST)
async def test_dataverse_unreadable_retry_after_counts_as_absent(
    app_root, booking_env, sandbox, dataverse, lead_id, value
):
    dataverse.faults.throttle(1, retry_after=value, method="GET")
    response = await post_session(app_root, {"regarding": {"entity": "lead", "id": lead_id}})

    assert response.status_code == 201, response.get_body()
    assert dataverse.count(method="GET") == 2


@pytest.mark.parametrize(
    "expires_at",
    [
        "9999-12-31T23:59:59-05:00",  # parses, but is in year 10000 in UTC
        "0001-01-01T00:00:00+05:00",  # parses, but is in year 0 in UTC
        "0001-01-01T00:00:00+23:59",
        "9999-12-31T23:59:59-23:59",
    ],
)
async def test_booking_api_expiry_outside_utc_is_a_bad_upstream_answer(
    app_root, booking_env, sandbox, lead_id, expires_at
):
    sandbox.next_expires_at = [expires_at]
    response = await post_session(app_root, {"regarding": {"entity": "lead", "id": lead_id}})

    assert response.status_code == 502, response.get_body()
    assert "expiresAt" in answer(response)["detail"]


@pytest.mark.parametrize(
    ("expires_at", "expected"),
    [
        ("9999-12-31T23:59:59Z", "9999-12-31T23:59:59Z"),
        ("0001-01-01T05:00:00+05:00", "0001-01-01T00:00:00Z"),
        ("9999-12-31T18:59:59-05:00", "9999-12-31T23:59:59Z"),
    ],
)
async def test_booking_api_expiry_at_the_ends_of_the_range_is_kept(
    app_root, booking_env, sandbox, lead_id, expires_at, expected
):
    sandbox.next_expires_at = [expires_at]
    response = await post_session(app_root, {"regarding": {"entity": "lead", "id": lead_id}})

    assert response.status_code == 201, response.get_body()
    assert answer(response)["expiresAt"] == expected
