"""docs/business-steps.md#3-appointment-sync / docs/spec.md#23-post-apiwebhooksappointments: make Dataverse hold one booking appointment as its newest event says.

Read once (one ``$batch``), decide, write once. Every write is conditional on what was read
(``If-None-Match: *`` for a new row, ``If-Match: <etag>`` otherwise), so a racing delivery
makes the write fail with 412 and this flow simply reads and decides again. The writes of
one event go in one changeset: Dataverse applies all of them or none, so an outage never
leaves a half-written appointment behind.

With an ``order`` guard (the appointment markers of :mod:`integration.appointments.delivery_records`,
when the app has storage), every attempt claims the event's ``updatedAt`` after reading the row and
before writing anything: an event older than one already started for the appointment is ``stale``
whenever Dataverse holds the appointment. Claiming after the read is what makes this hold under
races: a newer event claims before it writes, so a reader that sees its write also sees its
claim, and a reader that does not see it writes conditionally on the row it read and, after the
412, reads and claims again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, Protocol

from dataverse import request_builders
from dataverse.batch import ChangeSet
from dataverse.errors import NotFound, PreconditionFailed
from integration.appointments.appointment_record import (
    OPEN,
    PARTIES,
    AppointmentRecord,
    CustomerRef,
    WritePlan,
    build_record,
    plan_writes,
    version_text,
)
from integration.appointments.customers import resolve_customer
from integration.appointments.events import AppointmentData
from integration.appointments.keys import appointment_row_id
from integration.appointments.lookups import read_snapshot
from integration.errors import UpstreamUnavailable

if TYPE_CHECKING:
    from dataverse import DataverseClient

log = logging.getLogger("integration.appointments")

ENTITY_SET = "appointments"
MAX_ATTEMPTS = 5
Result = Literal["created", "updated", "unchanged", "stale"]


class OrderGuard(Protocol):
    async def claim(self, row_id: str, updated_at: datetime, *, absent_likely: bool = False) -> bool:
        """Record that an event with ``updated_at`` is being applied; ``False`` if a newer one was started.
        ``absent_likely``: the appointment was not found in Dataverse (a hint; the answer is the same)."""
        ...


@dataclass(frozen=True)
class SyncOutcome:
    result: Result
    appointment: str
    regarding: CustomerRef

    def as_answer(self) -> dict[str, Any]:
        return {"result": self.result, "appointment": self.appointment, "regarding": self.regarding.as_answer()}


async def sync_appointment(
    client: "DataverseClient", data: AppointmentData, *, source: str, version_column: str | None, creation: bool = False,
    order: OrderGuard | None = None,
) -> SyncOutcome:
    """Apply one event. ``creation`` marks an ``appointment.created`` event: without a version
    column it is the one event known to be older than any other, so when the row already
    exists (an update or cancel came first) it changes nothing. ``order``: see the module's doc;
    a newer event claimed while the appointment is not in Dataverse yet leaves nothing to bring
    back, so the event is applied (its write is conditional like any other)."""
    row_id = appointment_row_id(source, data.appointmentId)
    for attempt in range(1, MAX_ATTEMPTS + 1):
        snapshot = await read_snapshot(client, data, row_id, version_column)
        stored = snapshot.appointment
        if stored is not None and version_column and _is_newer(stored.get(version_column), data):
            return SyncOutcome("stale", row_id, _stored_regarding(stored, snapshot.known_customer()))
        if order is not None and not await order.claim(row_id, data.updatedAt, absent_likely=stored is None) \
                and stored is not None:
            log.info("appointment %s: a newer event was started; this one is stale", row_id)
            return SyncOutcome("stale", row_id, _stored_regarding(stored, snapshot.known_customer()))
        customer = await resolve_customer(client, data, snapshot, source)
        record = build_record(
            data, row_id=row_id, regarding=customer, organizer_id=snapshot.organizer_id, version_column=version_column
        )
        plan = plan_writes(record, stored)
        if plan.empty:
            return SyncOutcome("unchanged", row_id, customer)
        if creation and stored is not None and not version_column:
            return SyncOutcome("stale", row_id, _stored_regarding(stored, snapshot.known_customer()))
        try:
            await _write(client, record, plan, etag=None if stored is None else stored.get("@odata.etag") or "*")
        except (PreconditionFailed, NotFound):
            log.info("appointment %s changed while writing (attempt %d); reading again", row_id, attempt)
            continue
        result: Result = "created" if stored is None else "updated"
        log.info("appointment %s %s (status %s)", row_id, result, data.status)
        return SyncOutcome(result, row_id, customer)
    raise UpstreamUnavailable(f"Appointment {row_id} kept changing under concurrent deliveries.", seconds=2)


def _is_newer(stored_version: Any, data: AppointmentData) -> bool:
    return isinstance(stored_version, str) and stored_version > version_text(data.updatedAt)


def _stored_regarding(stored: Any, fallback: CustomerRef | None) -> CustomerRef:
    regarding = str(stored.get("_regardingobjectid_value") or "").lower()
    entity = stored.get("_regardingobjectid_value@Microsoft.Dynamics.CRM.lookuplogicalname")
    if fallback and fallback.id == regarding:
        return fallback
    return CustomerRef(entity if entity in ("lead", "contact") else "lead", regarding)


async def _write(client: "DataverseClient", record: AppointmentRecord, plan: WritePlan, *, etag: str | None) -> None:
    """The plan's writes, the first conditional on the row read; several go in one changeset."""
    writes: list[request_builders.Request] = []

    def guard() -> str | None:
        return None if writes else etag

    if etag is None:
        writes.append(request_builders.upsert(ENTITY_SET, record.row_id, record.new_row(), only="create"))
    else:
        if plan.reopen:
            writes.append(request_builders.update(ENTITY_SET, record.row_id, _state(OPEN), if_match=guard() or "*"))
        # The etag guards a PATCH of the row itself: If-Match on a PUT of a navigation collection
        # is not documented, so a change of parties alone still rides on a guarded PATCH.
        if plan.write_fields or (plan.write_parties and not writes):
            writes.append(request_builders.upsert(ENTITY_SET, record.row_id, record.fields(), if_match=guard()))
        if plan.write_parties:
            writes.append(_replace_parties(record))
    if plan.close:
        writes.append(request_builders.update(ENTITY_SET, record.row_id, _state(plan.close), if_match=guard() or "*"))
    if len(writes) == 1:
        await client.send(writes[0])
        return
    for result in await client.batch([ChangeSet(writes)]):
        result.raise_for_error()


def _replace_parties(record: AppointmentRecord) -> request_builders.Request:
    """The party list becomes exactly ours (docs/dataverse-webapi.md#29-activityparty)."""
    return request_builders.replace_related(ENTITY_SET, record.row_id, PARTIES, record.parties())


def _state(state: tuple[int, int]) -> dict[str, int]:
    return {"statecode": state[0], "statuscode": state[1]}
