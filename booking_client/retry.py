"""When and how long to wait before trying the booking API again.

Retries are safe only because every attempt of one logical request carries the same
``Idempotency-Key``; the total wait is capped so an agent clicking a button is never kept
waiting long.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime

RETRYABLE_STATUSES = frozenset({429, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 3
    first_delay: float = 0.2
    max_delay: float = 2.0
    max_total_wait: float = 10.0

    def delay(self, retry_number: int, retry_after: float | None) -> float:
        """Seconds to wait before retry ``retry_number`` (1-based): the server's hint, else jittered backoff."""
        if retry_after is not None:
            return retry_after
        ceiling = min(self.max_delay, self.first_delay * 2 ** (retry_number - 1))
        return random.uniform(ceiling / 2, ceiling)




def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """``Retry-After`` as seconds (RFC 9110: delay-seconds or an HTTP-date); ``None`` if absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - (now or datetime.now(timezone.utc))).total_seconds())
