"""The one Retry-After parser both clients use: RFC 9110 values only, always bounded."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from http_retry import MAX_RETRY_AFTER, RetryPolicy, parse_retry_after

NOW = datetime(2026, 1, 15, 14, 0, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("7", 7), (" 7 ", 7), ("0", 0), ("007", 7), ("300", 300), ("301", MAX_RETRY_AFTER),
        ("9" * 400, MAX_RETRY_AFTER), ("1" + "0" * 5000, MAX_RETRY_AFTER), ("0" * 400 + "5", 5),
        ("Thu, 15 Jan 2026 14:00:30 GMT", 30), ("Thu, 15 Jan 2026 13:00:00 GMT", 0),
        ("Fri, 31 Dec 9999 23:59:59 GMT", MAX_RETRY_AFTER), ("Mon, 01 Jan 0001 00:00:00 GMT", 0),
    ],
)
def test_integers_and_http_dates_are_read_and_clamped(value, seconds):
    assert parse_retry_after(value, now=NOW) == seconds


@pytest.mark.parametrize(
    "value",
    [None, "", " ", "soon", "-5", "-0", "+5", "2.5", "1e3", "inf", "Infinity", "nan", "0x10",
     "\u00b2", "\u0663", "\uff17", "1_000", "Thu, 15 Jan 2026 14:00:30 +0000", "Thu, 30 Feb 2026 10:00:00 GMT",
     "Thu, 15 Jan 2026 24:00:00 GMT", "Thu, 15 Jan 2026 14:00:30 GMT junk", "Thu, 15 Jan \u0662026 14:00:30 GMT"],
)
def test_anything_else_is_absent(value):
    assert parse_retry_after(value, now=NOW) is None


def test_a_policy_never_waits_negative_unbounded_or_nan():
    policy = RetryPolicy(base_delay=0.01, max_delay=0.02)
    assert policy.delay(1, -1.0) == 0.0
    assert policy.delay(1, float("inf")) == MAX_RETRY_AFTER
    assert 0.005 <= policy.delay(1, float("nan")) <= 0.01


def test_the_budget_counts_time_already_spent():
    policy = RetryPolicy(max_total_wait=10.0)
    assert policy.may_wait(4.0, 6.0)
    assert not policy.may_wait(4.0, 6.5)
