"""Webhook delivery records (docs/spec.md#23-post-apiwebhooksappointments, docs/storage.md): which
``webhook-id`` the app has applied, kept ``RETENTION`` (72 hours) in the storage account.

A delivery whose id is on record is answered ``unchanged`` from the record, without reading
or writing Dataverse, so neither a sender's late retry nor a replayed capture brings back an
older state, with or without the version column.

Table ``webhookdeliveries``, one entity per applied delivery:

- ``RowKey``: the SHA-256 of the ``webhook-id`` in hex (a sender's id may be long or hold
  characters table keys forbid, such as ``/``, ``#`` or ``?``; the hash is 64 safe characters);
- ``PartitionKey``: the hash's first two hex digits (256 partitions, spread evenly, so no
  single partition takes every write);
- ``appointment``, ``regardingEntity``, ``regardingId``: what the first answer said;
- ``result`` (created/updated/unchanged/stale), ``appliedAt`` and ``expiresAt`` = appliedAt + 72 h.

The same table holds one **appointment marker** per booking-system appointment
(:class:`AppointmentMarkers`): the newest event ``updatedAt`` this app has *started* to apply
for it, written (ETag-guarded, only ever forward) before Dataverse is written. The record alone
cannot stop an older event whose own record was never written (its insert failed after applying,
503, and the sender retried after a newer event was applied): the marker answers that one
``stale``. Marker entities:

- ``RowKey``: the appointment's Dataverse row id (:func:`integration.appointments.keys.appointment_row_id`,
  a GUID); ``PartitionKey``: ``appointment-`` and its first two hex digits;
- ``updatedAt``: the event's ``updatedAt`` as fixed-width UTC text (as the version column holds it);
- ``expiresAt``: the last forward move + 72 h.

Table storage has no time-to-live: :func:`purge_expired` deletes the rows past ``expiresAt``
(records and markers alike, each only if unchanged since the purge read it), run hourly by
``background/housekeeping.py``; the pure part is :func:`expired`.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable, Mapping
from contextlib import aclosing
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, TypeVar

from integration.appointments.appointment_record import CustomerRef, version_text
from integration.errors import UpstreamUnavailable

if TYPE_CHECKING:
    from integration.appointments.sync import SyncOutcome
    from storage_client import StorageAccount
    from storage_client.account import Entity

log = logging.getLogger("integration.appointments")
E = TypeVar("E", bound=Mapping[str, Any])

TABLE = "webhookdeliveries"
RETENTION = timedelta(hours=72)
"""How long an applied ``webhook-id`` is remembered (docs/spec.md#23-post-apiwebhooksappointments):
longer than webhook senders commonly keep retrying one delivery (about a day), with room for a
sender's own outage over a weekend. Rows live 72-73 hours: the purge runs hourly."""
PURGE_BATCH_LIMIT = 10_000
"""At most this many rows deleted per purge run (each is one storage transaction); the rest next hour."""
MARKER_ATTEMPTS = 5
"""Reads and conditional writes of one marker before giving up (503) under concurrent deliveries."""


@dataclass(frozen=True)
class DeliveryRecord:
    appointment: str
    regarding: CustomerRef
    result: str
    applied_at: datetime
    expires_at: datetime

    def as_answer(self) -> dict[str, Any]:
        """The answer to a repeated delivery: nothing was applied this time."""
        return {"result": "unchanged", "appointment": self.appointment, "regarding": self.regarding.as_answer()}


def record_key(webhook_id: str) -> tuple[str, str]:
    """``(PartitionKey, RowKey)`` of a ``webhook-id``'s record."""
    digest = hashlib.sha256(webhook_id.encode("utf-8", "surrogatepass")).hexdigest()
    return digest[:2], digest


def record_entity(webhook_id: str, outcome: SyncOutcome, applied_at: datetime) -> dict[str, Any]:
    partition, row = record_key(webhook_id)
    applied_at = applied_at.astimezone(timezone.utc)
    return {
        "PartitionKey": partition, "RowKey": row,
        "appointment": outcome.appointment,
        "regardingEntity": outcome.regarding.entity, "regardingId": outcome.regarding.id,
        "result": outcome.result,
        "appliedAt": applied_at, "expiresAt": applied_at + RETENTION,
    }


def parse_record(entity: Mapping[str, Any]) -> DeliveryRecord | None:
    """The record in a stored entity; ``None`` for one this code cannot read (then the delivery is applied again)."""
    entity_name, regarding_id = entity.get("regardingEntity"), entity.get("regardingId")
    appointment = entity.get("appointment")
    applied_at, expires_at = entity.get("appliedAt"), entity.get("expiresAt")
    if (entity_name not in ("lead", "contact") or not isinstance(regarding_id, str) or not isinstance(appointment, str)
            or not isinstance(applied_at, datetime) or not isinstance(expires_at, datetime)):
        return None
    return DeliveryRecord(appointment, CustomerRef(entity_name, regarding_id), str(entity.get("result") or ""),
                          applied_at, expires_at)


def expired(entities: Iterable[E], now: datetime) -> list[E]:
    """The entities whose ``expiresAt`` is before ``now`` (pure); rows without one are left alone."""
    return [entity for entity in entities if isinstance(entity.get("expiresAt"), datetime) and entity["expiresAt"] < now]


def marker_key(row_id: str) -> tuple[str, str]:
    """``(PartitionKey, RowKey)`` of an appointment's marker (its Dataverse row id, a GUID)."""
    return f"appointment-{row_id[:2]}", row_id


def marker_entity(row_id: str, version: str, now: datetime) -> dict[str, Any]:
    partition, row = marker_key(row_id)
    return {"PartitionKey": partition, "RowKey": row, "updatedAt": version,
            "expiresAt": now.astimezone(timezone.utc) + RETENTION}


def marker_version(entity: Mapping[str, Any]) -> str | None:
    """The fixed-width ``updatedAt`` text of a stored marker; ``None`` for one this code cannot
    read (then it is treated as absent and overwritten)."""
    value = entity.get("updatedAt")
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if parsed.tzinfo is not None and version_text(parsed) == value else None


class DeliveryRecords:
    """The ``webhookdeliveries`` table of the app's storage account."""

    def __init__(self, storage: StorageAccount) -> None:
        self._table = storage.table(TABLE)

    async def find(self, webhook_id: str, now: datetime) -> DeliveryRecord | None:
        """The record of an applied delivery still within its retention, or ``None``."""
        await self._table.ensure()
        entity = await self._table.get(*record_key(webhook_id))
        record = None if entity is None else parse_record(entity)
        if record is not None and record.expires_at < now:
            return None  # past retention, not purged yet: treated as unknown, as after the purge
        return record

    async def add(self, webhook_id: str, outcome: SyncOutcome, now: datetime) -> None:
        """Record an applied delivery; a concurrent delivery of the same id that recorded first wins."""
        from storage_client.errors import AlreadyExists

        entity = record_entity(webhook_id, outcome, now)
        await self._table.ensure()
        try:
            await self._table.insert(entity)
        except AlreadyExists:  # the same id applied concurrently (or an expired row not purged yet)
            existing = await self._table.get(entity["PartitionKey"], entity["RowKey"])
            record = None if existing is None else parse_record(existing)
            if record is None or record.expires_at < now:
                await self._table.upsert(entity)


class AppointmentMarkers:
    """The appointment markers in the ``webhookdeliveries`` table: the newest ``updatedAt`` started per appointment."""

    def __init__(self, storage: StorageAccount, clock: Callable[[], datetime] | None = None) -> None:
        self._table = storage.table(TABLE)
        self._clock = clock or (lambda: datetime.now(timezone.utc))

    async def claim(self, row_id: str, updated_at: datetime, *, absent_likely: bool = False) -> bool:
        """Move the appointment's marker forward to ``updated_at`` before its event is applied.

        ``absent_likely``: the appointment is not in Dataverse (just read), so its marker most likely
        does not exist either: the first attempt inserts without reading (one request instead of
        two); a marker that does exist refuses the insert, and the loop reads it and decides.

        ``True``: the event may be applied (the marker was absent, unreadable, older or equal, and
        now holds ``updated_at``: an equal one is a retry of the same event, or an event of the same
        instant, and is applied as the version column would). ``False``: an event with a later
        ``updatedAt`` was started; the marker is left as it is. Every write is conditional (insert,
        or update with the ETag read), so two deliveries racing for one appointment cannot move
        the marker backwards: the loser reads again and decides again.
        """
        from storage_client.errors import AlreadyExists, ChangedSinceRead

        version = version_text(updated_at)
        await self._table.ensure()
        for attempt in range(MARKER_ATTEMPTS):
            entity = None if attempt == 0 and absent_likely else await self._table.get(*marker_key(row_id))
            current = None if entity is None else marker_version(entity)
            if current is not None and current > version:
                return False
            if current == version:
                return True
            fresh = marker_entity(row_id, version, self._clock())
            try:
                if entity is None:
                    await self._table.insert(fresh)
                else:
                    await self._table.update(fresh, entity.etag)
            except (AlreadyExists, ChangedSinceRead):
                continue  # another delivery of this appointment wrote it first: read again
            return True
        raise UpstreamUnavailable(f"The marker of appointment {row_id} kept changing under concurrent deliveries.",
                                  seconds=2)


async def purge_expired(storage: StorageAccount, now: datetime, limit: int = PURGE_BATCH_LIMIT) -> int:
    """Delete up to ``limit`` rows (delivery records and appointment markers) past ``expiresAt``;
    the number deleted.

    Each delete is conditional on the ETag the query returned: a row written again between the
    query and the delete (an expired id delivered again, a marker moved forward) has a fresh
    ``expiresAt`` and is kept (412); one already gone (404) is no error.
    """
    return await delete_expired(storage, await expired_candidates(storage, now, limit), now)


async def expired_candidates(storage: StorageAccount, now: datetime, limit: int = PURGE_BATCH_LIMIT) -> list[Entity]:
    """Up to ``limit`` rows past ``expiresAt`` as the query reads them (keys, ``expiresAt``, ETag)."""
    table = storage.table(TABLE)
    await table.ensure()
    candidates: list[Entity] = []
    query = table.query("expiresAt lt @now", select=["PartitionKey", "RowKey", "expiresAt"], parameters={"now": now})
    async with aclosing(query) as rows:
        async for entity in rows:
            candidates.append(entity)
            if len(candidates) >= limit:
                break
    return candidates


async def delete_expired(storage: StorageAccount, candidates: Iterable[Entity], now: datetime) -> int:
    """Delete those of ``candidates`` (as a query read them, with their ETags) past ``expiresAt``,
    each only if unchanged since; the number deleted."""
    from storage_client.errors import ChangedSinceRead

    table = storage.table(TABLE)
    deleted = kept = 0
    for entity in expired(candidates, now):
        try:
            await table.delete(entity["PartitionKey"], entity["RowKey"], etag=entity.etag)
        except ChangedSinceRead:
            kept += 1  # written again since the query: a fresh expiresAt, not expired any more
            continue
        deleted += 1
    if deleted or kept:
        log.info("purged %d webhook delivery rows past their %d h retention (%d written again since read, kept)",
                 deleted, RETENTION // timedelta(hours=1), kept)
    return deleted
