"""Retrying HTTP calls: the one ``Retry-After`` parser and the one retry-policy shape.

Both outbound clients (``dataverse`` and ``booking_client``) import this small module; they
never import each other. It depends on the standard library only.

``Retry-After`` comes from outside, so it is read strictly (RFC 9110, section 10.2.3): a
non-negative integer in ASCII digits, or an HTTP-date. Anything else (``inf``, ``-5``,
``1.5``, ``²``, an unreadable date) counts as absent, and every value is clamped to
:data:`MAX_RETRY_AFTER`, so a hostile or careless upstream can never make a caller sleep,
overflow or format an absurd number. https://www.rfc-editor.org/rfc/rfc9110#field.retry-after
"""

from __future__ import annotations

import math
import random
import re
from dataclasses import dataclass
from datetime import datetime, timezone

MAX_RETRY_AFTER = 300.0
"""The longest wait a ``Retry-After`` can ask of us (5 minutes); longer values are clamped to it."""

_DIGITS = re.compile(r"[0-9]+")
_MONTHS = {m: i for i, m in enumerate(("Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), start=1)}
# IMF-fixdate, the HTTP-date every sender must generate: "Sun, 06 Nov 1994 08:49:37 GMT".
_IMF_FIXDATE = re.compile(
    r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), ([0-9]{2}) ([A-Z][a-z]{2}) ([0-9]{4}) ([0-9]{2}):([0-9]{2}):([0-9]{2}) GMT"
)


def parse_retry_after(value: str | None, *, now: datetime | None = None,
                      limit: float = MAX_RETRY_AFTER) -> float | None:
    """Seconds to wait from a ``Retry-After`` value, within ``[0, limit]``; ``None`` if absent or unreadable."""
    if value is None:
        return None
    text = value.strip()
    if _DIGITS.fullmatch(text):  # ASCII digits only: str.isdigit() would also take "²" or "٣"
        significant = text.lstrip("0")
        if len(significant) > 9:  # hundreds of digits: never convert, just clamp
            return limit
        return min(float(int(significant or "0")), limit)
    when = _http_date(text)
    if when is None:
        return None
    seconds = (when - (now or datetime.now(timezone.utc))).total_seconds()
    return min(max(seconds, 0.0), limit)


def _http_date(text: str) -> datetime | None:
    match = _IMF_FIXDATE.fullmatch(text)
    if match is None:
        return None
    day, month, year, hour, minute, second = match.groups()
    if month not in _MONTHS:
        return None
    try:
        return datetime(int(year), _MONTHS[month], int(day), int(hour), int(minute), int(second), tzinfo=timezone.utc)
    except ValueError:  # 31 Feb, hour 24, year 0000...
        return None


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry one logical request.

    ``max_attempts`` counts every try, the first included. Waits follow the service's
    ``Retry-After`` when it sent one, else full-jitter exponential backoff between half and
    all of ``base_delay * 2 ** (attempt - 1)``, capped at ``max_delay``. The time spent so far
    plus the next wait must stay within ``max_total_wait``, or the caller gives up at once:
    a retry must never run past the point where the request's own caller has given up.
    """

    max_attempts: int = 5
    max_total_wait: float = 20.0
    base_delay: float = 0.5
    max_delay: float = 8.0

    def backoff(self, attempt: int, rng: random.Random | None = None) -> float:
        """Full-jitter exponential backoff for the wait after failed attempt number ``attempt`` (1-based)."""
        ceiling = min(self.max_delay, self.base_delay * 2 ** (attempt - 1))
        return (rng or random).uniform(ceiling / 2, ceiling)

    def delay(self, attempt: int, retry_after: float | None) -> float:
        """The service's ``Retry-After`` when given (never less, never negative), else backoff."""
        if retry_after is not None and not math.isnan(retry_after):
            return min(max(retry_after, 0.0), MAX_RETRY_AFTER)
        return self.backoff(attempt)

    def may_wait(self, elapsed: float, wait: float) -> bool:
        """Whether waiting ``wait`` more seconds after ``elapsed`` stays within the budget."""
        return elapsed + wait <= self.max_total_wait
