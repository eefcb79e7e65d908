"""Writing bookings in bulk, and settling the chunks Dataverse refuses.

CreateMultiple and UpdateMultiple are all-or-nothing. A create chunk refused as a duplicate
key (a lost answer that the client retried, a concurrent import, a row outside what was
read) is re-read with one ``In`` query and only the difference is written: CreateMultiple for
the rows still missing, UpdateMultiple for the rows that differ. A chunk refused for a row's
content is split in halves until the refused rows stand alone, so one bad segment costs
about 2·log2(chunk) extra requests and the rest still goes in. Outages and throttling are
not isolated: they propagate, and a re-run completes the work.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from dataverse import errors as dv
from dataverse import request_builders
from dataverse.odata import in_filters
from integration.schedules.bookings import (
    ENTITY_SET,
    LOGICAL_NAME,
    PRIMARY_KEY,
    SELECT,
    Booking,
    Desired,
    existing_booking,
)
from integration.schedules.pacing import ChunkSizer, run_chunks
from integration.schedules.tasks import all_or_first_error

if TYPE_CHECKING:
    from dataverse import DataverseClient

_ROW_ERRORS = (dv.BadRequest, dv.NotFound, dv.PreconditionFailed)
"""Refusals caused by a row's content, worth isolating; anything else stops the import."""

Progress = Callable[[int], None]
Write = Callable[[Sequence[Desired]], Awaitable[None]]


@dataclass
class WriteOutcome:
    created: int = 0
    updated: int = 0
    unchanged: int = 0  # meant to be created, found already holding the desired values
    removed: int = 0
    rejected: list[tuple[str, dv.DataverseError]] = field(default_factory=list)  # (booking id, error)


@dataclass
class Pace:
    """How the writes are paced: chunk sizes (one sizer per kind of write) and how many run at once."""

    lanes: Callable[[], int]
    ceiling: int
    creates: ChunkSizer = field(default_factory=ChunkSizer)
    updates: ChunkSizer = field(default_factory=ChunkSizer)
    deletes: ChunkSizer = field(default_factory=ChunkSizer)
    before_write: Callable[[], None] | None = None
    """Called before every write request, the writer's own re-sends of a refused chunk included;
    what it raises stops the writes (a job's lease check)."""

    def check(self) -> None:
        """Run ``before_write``, if any: called before every write request."""
        if self.before_write is not None:
            self.before_write()


async def create(
    client: "DataverseClient", items: Sequence[Desired], gate: asyncio.Semaphore, progress: Progress, pace: Pace,
) -> WriteOutcome:
    writer = _Writer(client, gate, pace.check)
    await run_chunks(items, pace.creates, pace.lanes, writer.create, progress, pace.ceiling)
    return writer.outcome


async def update(
    client: "DataverseClient", items: Sequence[Desired], gate: asyncio.Semaphore, progress: Progress, pace: Pace,
) -> WriteOutcome:
    writer = _Writer(client, gate, pace.check)
    await run_chunks(items, pace.updates, pace.lanes, writer.update, progress, pace.ceiling)
    return writer.outcome


class _Writer:
    """Bulk writes of bookings, each refused chunk settled with as few requests as it takes.

    ``check`` runs before every CreateMultiple/UpdateMultiple, the halves and the settling writes
    of a refused chunk included, so a lost lease stops them all."""

    def __init__(self, client: "DataverseClient", gate: asyncio.Semaphore, check: Callable[[], None]) -> None:
        self.client = client
        self.gate = gate
        self.check = check
        self.outcome = WriteOutcome()

    async def create(self, chunk: Sequence[Desired]) -> None:
        self.check()
        try:
            await self.client.create_multiple(ENTITY_SET, LOGICAL_NAME, [d.booking.body() for d in chunk],
                                              chunk_size=len(chunk), primary_key=PRIMARY_KEY)
        except dv.Duplicate as error:
            await self._settle_duplicates(chunk, error)
        except _ROW_ERRORS as error:
            await self._split(chunk, error, self.create)
        else:
            self.outcome.created += len(chunk)

    async def update(self, chunk: Sequence[Desired]) -> None:
        self.check()
        try:
            await self.client.update_multiple(ENTITY_SET, LOGICAL_NAME, [d.booking.body() for d in chunk],
                                              chunk_size=len(chunk))
        except _ROW_ERRORS as error:
            await self._split(chunk, error, self.update)
        else:
            self.outcome.updated += len(chunk)

    async def _settle_duplicates(self, chunk: Sequence[Desired], error: dv.DataverseError) -> None:
        """Some of the chunk exists: read which, then create what is missing and update what differs.

        Each round finds at least one more row, so a concurrent writer cannot make this loop;
        when none of the ids exists the duplicate is about something else, isolated by halves.
        """
        held = await self._read(chunk)
        if not held:
            await self._split(chunk, error, self.create)
            return
        missing = [d for d in chunk if d.booking.id not in held]
        changed = [d for d in chunk if d.booking.id in held and held[d.booking.id] != d.booking]
        self.outcome.unchanged += len(chunk) - len(missing) - len(changed)
        if missing:
            await self.create(missing)
        if changed:
            await self.update(changed)

    async def _split(self, chunk: Sequence[Desired], error: dv.DataverseError, write: Write) -> None:
        """Halves until the refused row stands alone; it is reported, the rest goes in."""
        if len(chunk) == 1:
            self.outcome.rejected.append((chunk[0].booking.id, error))
            return
        middle = len(chunk) // 2
        await write(chunk[:middle])
        await write(chunk[middle:])

    async def _read(self, chunk: Sequence[Desired]) -> dict[str, Booking]:
        """The chunk's bookings as Dataverse holds them, by id: one query per URL-sized ``In`` filter."""

        async def one(id_filter: str) -> list[Booking]:
            async with self.gate:
                rows = await self.client.query_all(ENTITY_SET, select=list(SELECT), filter=id_filter)
            return [existing_booking(row) for row in rows]

        parts = await all_or_first_error(one(f) for f in in_filters(PRIMARY_KEY, [d.booking.id for d in chunk]))
        return {booking.id: booking for part in parts for booking in part}


async def remove(client: "DataverseClient", ids: Sequence[str], progress: Progress, pace: Pace) -> WriteOutcome:
    """``$batch`` DELETEs that go on past a failed part; a row already gone counts as removed."""
    outcome = WriteOutcome()

    async def one_batch(chunk: Sequence[str]) -> None:
        pace.check()
        results = await client.batch(
            [request_builders.delete(ENTITY_SET, row_id) for row_id in chunk], continue_on_error=True
        )
        for row_id, result in zip(chunk, results, strict=True):
            error = result.error
            if result.ok or isinstance(error, dv.NotFound):
                outcome.removed += 1
            elif isinstance(error, (dv.Unavailable, dv.Throttled)):
                raise error
            else:
                outcome.rejected.append((row_id, error or dv.DataverseError("not executed", status=result.status)))

    await run_chunks(ids, pace.deletes, pace.lanes, one_batch, progress, pace.ceiling)
    return outcome
