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

Table storage has no time-to-live: :func:`purge_expired` deletes the rows past ``expiresAt``
(each only if unchanged since the purge read it), run hourly by ``background/housekeeping.py``;
the pure part is :func:`expired`.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Mapping
from contextlib import aclosing
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, TypeVar

from integration.appointments.appointment_record import CustomerRef

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


async def purge_expired(storage: StorageAccount, now: datetime, limit: int = PURGE_BATCH_LIMIT) -> int:
    """Delete up to ``limit`` delivery records past ``expiresAt``; the number deleted.

    Each delete is conditional on the ETag the query returned: a row written again between the
    query and the delete (an expired id delivered again) has a fresh ``expiresAt`` and is kept
    (412); one already gone (404) is no error.
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
