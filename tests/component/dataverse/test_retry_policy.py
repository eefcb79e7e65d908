"""RetryPolicy: jittered exponential backoff, capped, and the service's Retry-After first."""

from __future__ import annotations

import random

import pytest

from dataverse import RetryPolicy

POLICY = RetryPolicy(base_delay=0.5, max_delay=8.0)
CEILINGS = {1: 0.5, 2: 1.0, 3: 2.0, 4: 4.0, 5: 8.0, 6: 8.0, 7: 8.0, 10: 8.0}
"""base_delay * 2 ** (attempt - 1), capped at max_delay."""


@pytest.mark.parametrize("seed", [0, 1, 7, 2024])
def test_backoff_stays_within_half_to_full_ceiling(seed):
    rng = random.Random(seed)
    for attempt, ceiling in CEILINGS.items():
        for _ in range(50):
            wait = POLICY.backoff(attempt, rng)
            assert ceiling / 2 <= wait <= ceiling, (attempt, wait)


def test_backoff_grows_exponentially_then_stops_at_max_delay():
    rng = random.Random(42)
    highest = {attempt: max(POLICY.backoff(attempt, rng) for _ in range(200)) for attempt in range(1, 9)}
    lowest = {attempt: min(POLICY.backoff(attempt, rng) for _ in range(200)) for attempt in range(1, 9)}
    for attempt in range(1, 5):
        # each attempt's whole range lies at or above the previous one's: [c/2, c] then [c, 2c]
        assert lowest[attempt + 1] >= highest[attempt], attempt
    # and the ranges really double: with 200 draws the extremes come close to the bounds
    for attempt in range(1, 6):
        ceiling = CEILINGS[attempt]
        assert highest[attempt] > 0.95 * ceiling and lowest[attempt] < 0.55 * ceiling, attempt
    assert all(wait <= POLICY.max_delay for wait in highest.values())
    assert highest[8] > 0.95 * POLICY.max_delay and lowest[8] >= POLICY.max_delay / 2


def test_backoff_is_reproducible_with_a_seeded_rng():
    first = [POLICY.backoff(a, random.Random(3)) for a in range(1, 8)]
    again = [POLICY.backoff(a, random.Random(3)) for a in range(1, 8)]
    assert first == again


def test_another_policy_scales_the_same_way():
    policy = RetryPolicy(base_delay=0.01, max_delay=0.05)
    rng = random.Random(5)
    for attempt, ceiling in {1: 0.01, 2: 0.02, 3: 0.04, 4: 0.05, 9: 0.05}.items():
        for _ in range(50):
            assert ceiling / 2 <= policy.backoff(attempt, rng) <= ceiling


@pytest.mark.parametrize("retry_after", [0.0, 3.0, 30.0, 120.0])
def test_delay_honours_retry_after(retry_after):
    """Retry-After wins whatever the attempt, even above max_delay and below the backoff."""
    for attempt in (1, 3, 6):
        assert POLICY.delay(attempt, retry_after) == retry_after


def test_delay_never_waits_a_negative_time():
    assert POLICY.delay(1, -5.0) == 0.0


def test_delay_without_retry_after_is_the_backoff():
    for attempt, ceiling in CEILINGS.items():
        for _ in range(20):
            assert ceiling / 2 <= POLICY.delay(attempt, None) <= ceiling
