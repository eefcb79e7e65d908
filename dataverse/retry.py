"""How long to wait before retrying, within a bounded budget.

The budget keeps a throttled or hanging Dataverse from holding an HTTP call open past the
point where its caller gives up: once the time spent so far (attempts and waits) plus the
next wait would overrun ``max_total_wait``, the client stops and raises, carrying
``retry_after`` so the HTTP layer can answer 503/504 + Retry-After.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

TRANSIENT_STATUSES = frozenset({502, 503, 504})
THROTTLED = 429


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 5
    max_total_wait: float = 20.0
    base_delay: float = 0.5
    max_delay: float = 8.0

    def backoff(self, attempt: int, rng: random.Random | None = None) -> float:
        """Full-jitter exponential backoff for the wait after failed attempt number ``attempt`` (1-based)."""
        ceiling = min(self.max_delay, self.base_delay * 2 ** (attempt - 1))
        return (rng or random).uniform(ceiling / 2, ceiling)

    def delay(self, attempt: int, retry_after: float | None) -> float:
        """The service's Retry-After when given (never less), else backoff."""
        if retry_after is not None:
            return max(retry_after, 0.0)
        return self.backoff(attempt)


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header; Dataverse sends integer seconds. HTTP dates are not used by it."""
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return seconds if seconds >= 0 else None
