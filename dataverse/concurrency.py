"""A concurrency limit that follows the service: ``x-ms-dop-hint``, and backing off after 429.

Microsoft's advice for parallel clients: use the dop hint as the upper bound, reduce the
concurrency after a 429, then ramp up again gradually. Here (additive increase,
multiplicative decrease): a 429 halves the limit, once per burst of 429s (the requests that
were already in flight when the first one came back do not halve it again); then one more
request is allowed per round of successes (as many successes as the current limit) until the
limit is back at the hint. The decisions are in :class:`LimitPolicy`, free of I/O.
``asyncio.Semaphore`` cannot shrink, so the gate keeps its own count under a condition variable.
"""

from __future__ import annotations

import asyncio
from types import TracebackType

SERVICE_MAX_CONCURRENCY = 52
"""Dataverse refuses the 53rd concurrent request of one user (0x80072326)."""
FIRST_LIMIT = 5
"""Requests at once before the service has sent a dop hint (Microsoft's SDK assumes 5 too);
without any hint the limit ramps up from here like after a back-off."""


THROTTLED = 429


class LimitPolicy:
    """The pure decisions: the current limit, from the ceiling, the hint and the answers seen."""

    def __init__(self, ceiling: int = SERVICE_MAX_CONCURRENCY) -> None:
        if ceiling < 1:
            raise ValueError("limit must be at least 1")
        self.ceiling = min(ceiling, SERVICE_MAX_CONCURRENCY)
        self.target = self.ceiling  # min(hint, ceiling) once a hint was seen
        self.limit = min(FIRST_LIMIT, self.ceiling)
        self._hinted = False
        self.backoffs = 0
        self._successes = 0  # since the last change of the limit
        self._burst = False  # a 429 came back and no success since: further 429s are the same burst

    def hint(self, value: str | None) -> None:
        """Follow ``x-ms-dop-hint`` (at most the ceiling, never above 52); ignore what is not a positive integer."""
        if not value:
            return
        try:
            hint = int(value)
        except ValueError:
            return
        if hint < 1:
            return
        recovering = self.limit < self.target and (self._hinted or self.backoffs > 0)
        self.target = min(hint, self.ceiling)
        self._hinted = True
        if not recovering or self.limit > self.target:
            self.limit = self.target

    def answered(self, status: int) -> None:
        if status == THROTTLED:
            if not self._burst:
                self._burst = True
                self.backoffs += 1
                self.limit = max(1, self.limit // 2)
                self._successes = 0
            return
        if status >= 500:
            return
        self._burst = False
        if self.limit >= self.target:
            return
        self._successes += 1
        if self._successes >= self.limit:
            self.limit += 1
            self._successes = 0


class AdaptiveLimit:
    def __init__(self, limit: int = SERVICE_MAX_CONCURRENCY) -> None:
        self.policy = LimitPolicy(limit)
        self._in_flight = 0
        self._changed: asyncio.Condition | None = None

    @property
    def limit(self) -> int:
        return self.policy.limit

    def apply_hint(self, hint: str | None) -> None:
        """Follow the service's recommended degree of parallelism, never above the configured limit."""
        self.policy.hint(hint)

    def observe(self, status: int, hint: str | None) -> None:
        """An answer came back: its dop hint, then back off (429) or ramp up (success)."""
        self.policy.hint(hint)
        self.policy.answered(status)

    def _condition(self) -> asyncio.Condition:
        if self._changed is None:
            self._changed = asyncio.Condition()
        return self._changed

    async def __aenter__(self) -> None:
        changed = self._condition()
        async with changed:
            await changed.wait_for(lambda: self._in_flight < self.policy.limit)
            self._in_flight += 1

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        changed = self._condition()
        async with changed:
            self._in_flight -= 1
            changed.notify_all()
