"""How many rows go in each bulk request, and how many requests run at once.

Under Dataverse's service protection limits the wall time of a large import is set by the
server time the rows cost and by how many requests run side by side (the ``x-ms-dop-hint``
degree of parallelism): the least any client can reach is the rows' server time divided by
that parallelism (docs/cost-model.md). Two things keep the importer near it:

- every lane stays busy to the end: after the first wave, the remaining rows are cut into a
  multiple of the lanes, in equal chunks, so the last round is not one lane working alone;
- no request holds the server long: a chunk's size is bounded by a target duration per
  request (measured, with the slowest recent rows per second winning, so a slow table or a
  slow moment shrinks the next chunks at once) and by ``max_rows``.

:class:`ChunkSizer` is the pure decision; :func:`run_chunks` drives the lanes. How many lanes
may run is asked each time one is free (the client's limit: dop hint, 429 back-off, ceiling).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from integration.schedules.tasks import all_or_first_error

T = TypeVar("T")

TARGET_REQUEST_SECONDS = 10.0
"""A bulk request should hold the server for about this long: well under the minutes after
which clients and gateways give up, long enough that the per-request base cost is small."""
MAX_ROWS = 1000
"""Microsoft's suggested starting size for bulk requests on standard tables, and the
``$batch``/ExecuteMultiple maximum."""
FIRST_ROWS = 500
"""Rows per request before any duration was measured."""


@dataclass
class ChunkSizer:
    target_seconds: float = TARGET_REQUEST_SECONDS
    first_rows: int = FIRST_ROWS
    max_rows: int = MAX_ROWS
    seconds_per_row: float | None = None
    """The estimate: a slower observation replaces it at once, a faster one moves it by a third."""
    _planned: tuple[int, int] | None = field(default=None, repr=False)  # (rows per chunk, lanes)

    def __post_init__(self) -> None:
        if self.target_seconds <= 0 or not 1 <= self.first_rows <= self.max_rows:
            raise ValueError("need target_seconds > 0 and 1 <= first_rows <= max_rows")

    def record(self, rows: int, seconds: float) -> None:
        if rows < 1 or seconds <= 0 or not math.isfinite(seconds):
            return
        observed = seconds / rows
        current = self.seconds_per_row
        if current is None or observed > current:
            self.seconds_per_row = observed
        else:
            self.seconds_per_row = current + (observed - current) / 3

    def largest(self) -> int:
        """The most rows one request may carry now."""
        if self.seconds_per_row is None:
            return self.first_rows
        by_time = int(self.target_seconds / self.seconds_per_row) if self.seconds_per_row > 0 else self.max_rows
        return max(1, min(self.max_rows, by_time))

    def next_size(self, remaining: int, lanes: int) -> int:
        """Rows for the next request, with ``remaining`` rows not yet sent and ``lanes`` requests allowed at once.

        Once a duration is known, the rows left are planned as ``lanes × rounds`` equal chunks
        (the fewest rounds whose chunks fit :meth:`largest`), and that size is kept, so every
        lane finishes at about the same time; a slower estimate or another lane count replans.
        """
        if remaining <= 0:
            return 0
        largest = self.largest()
        if self.seconds_per_row is None:
            return min(remaining, largest)
        lanes = max(1, lanes)
        if self._planned is None or self._planned[0] > largest or self._planned[1] != lanes:
            rounds = math.ceil(remaining / (lanes * largest))
            self._planned = (math.ceil(remaining / (lanes * rounds)), lanes)
        return min(remaining, self._planned[0])


async def run_chunks(
    items: Sequence[T],
    sizer: ChunkSizer,
    lanes: Callable[[], int],
    write: Callable[[Sequence[T]], Awaitable[None]],
    progress: Callable[[int], None],
    ceiling: int,
) -> None:
    """Write ``items`` in chunks, at most ``min(lanes(), ceiling)`` at once; the first failure stops all."""
    position = 0
    active = 0
    freed = asyncio.Condition()

    def allowed() -> int:
        return max(1, min(lanes(), ceiling))

    def may_start() -> bool:
        return position >= len(items) or active < allowed()

    async def lane() -> None:
        nonlocal position, active
        while True:
            async with freed:
                await freed.wait_for(may_start)
                if position >= len(items):
                    return
                size = sizer.next_size(len(items) - position, allowed())
                chunk = items[position : position + size]
                position += size
                active += 1
            started = time.monotonic()
            try:
                await write(chunk)
            finally:
                async with freed:
                    active -= 1
                    freed.notify_all()
            sizer.record(len(chunk), time.monotonic() - started)
            progress(len(chunk))

    workers = min(max(1, ceiling), max(1, len(items)))
    await all_or_first_error(lane() for _ in range(workers))
