"""A concurrency limit that the service can lower (``x-ms-dop-hint``) while requests are in flight.

``asyncio.Semaphore`` cannot shrink, so this keeps its own count under a condition variable.
"""

from __future__ import annotations

import asyncio
from types import TracebackType

SERVICE_MAX_CONCURRENCY = 52
"""Dataverse refuses the 53rd concurrent request of one user (0x80072326)."""


class AdaptiveLimit:
    def __init__(self, limit: int = SERVICE_MAX_CONCURRENCY) -> None:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        self._limit = min(limit, SERVICE_MAX_CONCURRENCY)
        self._ceiling = self._limit
        self._in_flight = 0
        self._changed: asyncio.Condition | None = None

    @property
    def limit(self) -> int:
        return self._limit

    def apply_hint(self, hint: str | None) -> None:
        """Follow the service's recommended degree of parallelism, never above the configured limit."""
        if not hint:
            return
        try:
            value = int(hint)
        except ValueError:
            return
        if value >= 1:
            self._limit = min(value, self._ceiling)

    def _condition(self) -> asyncio.Condition:
        if self._changed is None:
            self._changed = asyncio.Condition()
        return self._changed

    async def __aenter__(self) -> None:
        changed = self._condition()
        async with changed:
            await changed.wait_for(lambda: self._in_flight < self._limit)
            self._in_flight += 1

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        changed = self._condition()
        async with changed:
            self._in_flight -= 1
            changed.notify_all()
