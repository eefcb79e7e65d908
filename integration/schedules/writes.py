"""Writing bookings in bulk, and isolating the rows Dataverse rejects.

CreateMultiple and UpdateMultiple are all-or-nothing: when a chunk is refused for a row's
content, the chunk is split in halves and retried until the refused rows stand alone, so
one bad segment costs about 2·log2(chunk) extra requests and the rest still goes in.
Outages and throttling are not isolated: they propagate, and a re-run completes the work.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from dataverse import errors as dv
from integration.schedules.bookings import ENTITY_SET, LOGICAL_NAME, PRIMARY_KEY, Desired
from integration.schedules.tasks import all_or_first_error

if TYPE_CHECKING:
    from dataverse import DataverseClient

DEFAULT_CHUNK_SIZE = 500
DELETE_BATCH_SIZE = 500
_ROW_ERRORS = (dv.BadRequest, dv.NotFound, dv.PreconditionFailed)
"""Refusals caused by a row's content, worth isolating; anything else stops the import."""

Progress = Callable[[int], None]


@dataclass
class WriteOutcome:
    created: int = 0
    updated: int = 0
    removed: int = 0
    rejected: list[tuple[str, dv.DataverseError]] = field(default_factory=list)  # (booking id, error)


async def create(
    client: "DataverseClient", items: Sequence[Desired], gate: asyncio.Semaphore, progress: Progress,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> WriteOutcome:
    outcome = WriteOutcome()

    async def send(chunk: Sequence[Desired]) -> None:
        await client.create_multiple(ENTITY_SET, LOGICAL_NAME, [d.booking.body() for d in chunk],
                                     chunk_size=len(chunk), primary_key=PRIMARY_KEY)
        outcome.created += len(chunk)

    async def alone(item: Desired, error: dv.DataverseError) -> None:
        if not isinstance(error, dv.Duplicate):
            raise error
        # The id exists outside what was read (another resource or window): bring it in line.
        body = item.booking.body()
        del body[PRIMARY_KEY]
        await client.update(ENTITY_SET, item.booking.id, body)
        outcome.updated += 1

    await _in_chunks(items, chunk_size, gate, progress, send, alone, outcome)
    return outcome


async def update(
    client: "DataverseClient", items: Sequence[Desired], gate: asyncio.Semaphore, progress: Progress,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> WriteOutcome:
    outcome = WriteOutcome()

    async def send(chunk: Sequence[Desired]) -> None:
        await client.update_multiple(ENTITY_SET, LOGICAL_NAME, [d.booking.body() for d in chunk], chunk_size=len(chunk))
        outcome.updated += len(chunk)

    async def alone(item: Desired, error: dv.DataverseError) -> None:
        raise error

    await _in_chunks(items, chunk_size, gate, progress, send, alone, outcome)
    return outcome


async def remove(
    client: "DataverseClient", ids: Sequence[str], gate: asyncio.Semaphore, progress: Progress,
    batch_size: int = DELETE_BATCH_SIZE,
) -> WriteOutcome:
    """``$batch`` DELETEs that go on past a failed part; a row already gone counts as removed."""
    outcome = WriteOutcome()

    async def one_batch(chunk: Sequence[str]) -> None:
        async with gate:
            results = await client.batch(
                [client.requests.delete(ENTITY_SET, row_id) for row_id in chunk], continue_on_error=True
            )
        for row_id, result in zip(chunk, results, strict=True):
            error = result.error
            if result.ok or isinstance(error, dv.NotFound):
                outcome.removed += 1
            elif isinstance(error, (dv.Unavailable, dv.Throttled)):
                raise error
            else:
                outcome.rejected.append((row_id, error or dv.DataverseError("not executed", status=result.status)))
        progress(len(chunk))

    await all_or_first_error((one_batch(ids[i : i + batch_size]) for i in range(0, len(ids), batch_size)))
    return outcome


async def _in_chunks(
    items: Sequence[Desired],
    chunk_size: int,
    gate: asyncio.Semaphore,
    progress: Progress,
    send: Callable[[Sequence[Desired]], Awaitable[None]],
    alone: Callable[[Desired, dv.DataverseError], Awaitable[None]],
    outcome: WriteOutcome,
) -> None:
    async def isolate(chunk: Sequence[Desired]) -> None:
        try:
            async with gate:
                await send(chunk)
        except _ROW_ERRORS as error:
            if len(chunk) > 1:
                middle = len(chunk) // 2
                await isolate(chunk[:middle])
                await isolate(chunk[middle:])
                return
            try:
                async with gate:
                    await alone(chunk[0], error)
            except _ROW_ERRORS as final:
                outcome.rejected.append((chunk[0].booking.id, final))

    async def top(chunk: Sequence[Desired]) -> None:
        await isolate(chunk)
        progress(len(chunk))

    await all_or_first_error((top(items[i : i + chunk_size]) for i in range(0, len(items), chunk_size)))
