"""The schedule import flow (docs/business-steps.md#2-wem-schedule-import, docs/spec.md#24-post-apischedulesimport): reference data, then bookings, then removals.

Order matters for outages: reference rows first, then creates and updates, then removals.
Whatever step an outage interrupts, the ids are deterministic and every step compares
before it writes, so running the same import again completes the work.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING

from pydantic import BaseModel

from dataverse.concurrency import SERVICE_MAX_CONCURRENCY
from dataverse.odata import in_filters, literal
from integration.dependencies import Dependencies
from integration.errors import Busy
from integration.schedules import writes
from integration.schedules.bookings import (
    BOOKING_SETUP_METADATA_ID,
    ENTITY_SET,
    SELECT,
    Booking,
    Desired,
    ResolvedReferences,
    ScopeTest,
    desired_bookings,
    diff,
    existing_booking,
)
from integration.schedules.payload import ScheduleImport, parse_import
from integration.schedules.reference_data import PAGE_SIZE, References, resolve
from integration.schedules.tasks import all_or_first_error

if TYPE_CHECKING:
    from dataverse import DataverseClient

log = logging.getLogger("integration.schedules")

Progress = Callable[[str, int, int], None]
"""``(phase, done, total)``: called as work completes (the CLI draws a bar with it)."""
NO_USER = "no Dataverse user has this agent's email (systemuser.internalemailaddress)"

MAX_CONCURRENT_IMPORTS = 2
"""Imports one worker process runs at once. Parsing and validating a 20 MiB body peaks at up
to about 8 times its size (``python -m benchmarks import_memory``: 133 MiB at worst), so two
stay within a small instance's memory next to the other routes; a third is answered 503."""
BUSY_RETRY_AFTER = 30.0
"""Seconds a refused import is told to wait: a large import takes tens of seconds."""

_slots_lock = threading.Lock()
_running = 0


@contextmanager
def import_slot() -> Iterator[None]:
    """Hold one of this process's import slots; :class:`Busy` (503 + Retry-After) if none is free."""
    global _running
    with _slots_lock:
        if _running >= MAX_CONCURRENT_IMPORTS:
            raise Busy(f"This instance is already running {_running} imports; retry later.", BUSY_RETRY_AFTER)
        _running += 1
    try:
        yield
    finally:
        with _slots_lock:
            _running -= 1


def imports_running() -> int:
    """How many imports hold a slot in this process now."""
    with _slots_lock:
        return _running


class Skipped(BaseModel):
    agentId: str
    reason: str


class ReferenceCounts(BaseModel):
    """Reference rows this import created (rows that already existed are not counted)."""

    resources: int = 0
    activityTypes: int = 0
    statuses: int = 0
    plans: int = 0


class ImportSummary(BaseModel):
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    skipped: list[Skipped] = []
    referenceData: ReferenceCounts = ReferenceCounts()


async def import_schedule(
    client: "DataverseClient",
    schedule: ScheduleImport,
    *,
    progress: Progress | None = None,
    concurrency: int = SERVICE_MAX_CONCURRENCY,
    pace: writes.Pace | None = None,
    before_write: Callable[[], None] | None = None,
) -> ImportSummary:
    """Make Dataverse hold exactly the schedule's committed segments for the listed agents.

    At most ``concurrency`` write chunks run at once, and never more than the client allows at
    the moment (the service's dop hint, less after a 429, at most its ``max_concurrency``:
    ``dataverse.concurrency``), which bounds every request of the import. ``before_write`` is called
    before each write chunk; what it raises stops the import (a job step checks its leases so).
    """
    report = progress or (lambda phase, done, total: None)
    concurrency = max(1, min(concurrency, SERVICE_MAX_CONCURRENCY))
    gate = asyncio.Semaphore(concurrency)
    pace = pace or writes.Pace(lanes=lambda: client.parallelism, ceiling=concurrency)
    if before_write is not None:
        pace = dataclasses.replace(pace, before_write=before_write)

    report("reference data", 0, 1)
    refs = await resolve(client, schedule, concurrency)
    report("reference data", 1, 1)
    windows = _windows(schedule, refs)

    report("reading bookings", 0, 1)
    existing = await fetch_existing(client, windows, gate)
    report("reading bookings", 1, 1)

    resolved = ResolvedReferences(refs.resources, refs.activity_types, refs.statuses, refs.plan)
    desired = list(desired_bookings(schedule, resolved))
    changes = diff(desired, existing, ScopeTest(windows))
    del existing

    total = len(changes.create) + len(changes.update) + len(changes.remove)
    done = 0

    def advance(count: int) -> None:
        nonlocal done
        done += count
        report("writing", done, total)

    report("writing", 0, total)
    created = await writes.create(client, changes.create, gate, advance, pace)
    updated = await writes.update(client, changes.update, gate, advance, pace)
    removed = await writes.remove(client, [b.id for b in changes.remove], advance, pace)

    summary = ImportSummary(
        created=created.created,
        updated=created.updated + updated.updated,
        unchanged=changes.unchanged + created.unchanged,
        removed=removed.removed,
        skipped=_skipped(refs, desired + changes.remove, created, updated, removed),
        referenceData=ReferenceCounts(**refs.created),
    )
    log.info(
        "schedule import: created=%d updated=%d unchanged=%d removed=%d skipped=%d",
        summary.created, summary.updated, summary.unchanged, summary.removed, len(summary.skipped),
    )
    return summary


def _windows(schedule: ScheduleImport, refs: References) -> dict[str, tuple[datetime, datetime]]:
    """The replaced span per resource: the window, or the agent's segments' span."""
    windows: dict[str, tuple[datetime, datetime]] = {}
    for agent in schedule.agents:
        resource = refs.resources.get(agent.agentId)
        window = schedule.agent_window(agent)
        if resource is not None and window is not None:
            windows[resource] = window
    return windows


async def fetch_existing(
    client: "DataverseClient", windows: dict[str, tuple[datetime, datetime]], gate: asyncio.Semaphore
) -> list[Booking]:
    """This import's bookings (setup metadata 4beb9fdb-...) on the resources, within the overall span."""
    if not windows:
        return []
    start = min(w[0] for w in windows.values())
    end = max(w[1] for w in windows.values())
    scope = (
        f"_msdyn_bookingsetupmetadataid_value eq {BOOKING_SETUP_METADATA_ID}"
        f" and starttime ge {literal(start)} and starttime lt {literal(end)}"
    )

    async def one(resources: str) -> list[Booking]:
        async with gate:
            rows = await client.query_all(
                ENTITY_SET, select=list(SELECT), filter=f"{scope} and {resources}", page_size=PAGE_SIZE
            )
        return [existing_booking(row) for row in rows]

    parts = await all_or_first_error(one(f) for f in in_filters("_resource_value", windows))
    return [booking for part in parts for booking in part]


def _skipped(refs: References, touched: list[Desired | Booking], *outcomes: writes.WriteOutcome) -> list[Skipped]:
    """Agents without a user, then each booking Dataverse refused (by segment path, never by name)."""
    skipped = [Skipped(agentId=agent_id, reason=NO_USER) for agent_id in refs.unknown_agents]
    agent_of_resource = {resource: agent for agent, resource in refs.resources.items()}
    by_id = {item.booking.id if isinstance(item, Desired) else item.id: item for item in touched}
    for outcome in outcomes:
        for booking_id, error in outcome.rejected:
            item = by_id[booking_id]
            if isinstance(item, Desired):
                skipped.append(Skipped(agentId=item.agent_id, reason=f"segment {item.path} was rejected: {error}"))
            else:
                agent = agent_of_resource.get(item.resource, "")
                skipped.append(Skipped(agentId=agent, reason=f"booking {item.id} could not be removed: {error}"))
    return skipped


async def import_from_body(
    dependencies: Dependencies, body: bytes, *, progress: Progress | None = None
) -> ImportSummary:
    """The whole flow from a request body: a free import slot (else 503), validate it (400/413),
    then write to Dataverse."""
    with import_slot():
        # Parsing 100,000 segments takes most of a second of CPU: off the event loop, so other
        # invocations on this worker (webhooks, sessions) keep being served meanwhile.
        schedule = await asyncio.to_thread(parse_import, body)
        return await import_schedule(dependencies.dataverse, schedule, progress=progress)
