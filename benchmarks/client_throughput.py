"""Rows per second creating 1,000 leads against the emulator: single creates vs $batch vs CreateMultiple.

All three run in the same process against the same emulator, so the ratios compare the
request shapes, not machines. The Dataverse request count (a ``$batch`` counts as one, as
in the service protection limits) is what matters most against a 6,000-per-5-minutes budget.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

ROWS = 1000
BATCH_SIZE = 100
SINGLE_CONCURRENCY = 16


def _rows(tag: str) -> list[dict[str, str]]:
    return [{"lastname": f"{tag}{i}", "subject": f"benchmark {tag}"} for i in range(ROWS)]


async def _singles(client, rows) -> None:
    gate = asyncio.Semaphore(SINGLE_CONCURRENCY)

    async def one(row):
        async with gate:
            await client.create("leads", row)

    await asyncio.gather(*(one(row) for row in rows))


async def _batches(client, rows) -> None:
    from dataverse import ChangeSet, request_builders

    chunks = [rows[i : i + BATCH_SIZE] for i in range(0, len(rows), BATCH_SIZE)]
    for chunk in chunks:
        results = await client.batch([ChangeSet([request_builders.create("leads", row) for row in chunk])])
        for result in results:
            result.raise_for_error()


async def _bulk(client, rows) -> None:
    await client.create_multiple("leads", "lead", rows)


async def _measure(emulator, name: str, how: Callable[..., Awaitable[None]]) -> tuple[float, int]:
    from dataverse import DataverseClient

    emulator.reset()
    async with DataverseClient(emulator.url) as client:
        started = time.perf_counter()
        await how(client, _rows(name))
        elapsed = time.perf_counter() - started
    created = sum(1 for row in emulator.rows("leads") if row.get("subject") == f"benchmark {name}")
    if created != ROWS:
        raise RuntimeError(f"{name}: {created} rows created, expected {ROWS}")
    return ROWS / elapsed, emulator.count()


def run() -> dict[str, float]:
    from emulators.dataverse import DataverseEmulator

    emulator = DataverseEmulator()
    emulator.start()
    try:
        results = {
            name: asyncio.run(_measure(emulator, name, how))
            for name, how in (("single", _singles), ("batch", _batches), ("bulk", _bulk))
        }
    finally:
        emulator.stop()
    base_rate, _ = results["single"]
    labels = {
        "single": f"single creates ({SINGLE_CONCURRENCY} concurrent)",
        "batch": f"$batch, changesets of {BATCH_SIZE}",
        "bulk": "CreateMultiple, chunks of 500",
    }
    for name, (rate, requests) in results.items():
        print(f"   {labels[name]:<36} {rate:8.0f} rows/s  {requests:5d} requests  x{rate / base_rate:5.1f} vs single")
    return {f"{name}_rows_per_s": rate for name, (rate, _) in results.items()} | {
        f"{name}_requests": float(requests) for name, (_, requests) in results.items()
    }
