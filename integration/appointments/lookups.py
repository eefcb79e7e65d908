"""Everything one delivery needs to read from Dataverse, fetched in a single ``$batch``.

One round trip reads the referenced customer, the contact and lead matching the email, the
staff member's user and the appointment itself (with its etag and parties), so a steady
state update costs this read plus one write.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from dataverse import odata, request_builders
from integration.appointments.appointment_record import PARTIES, CustomerRef
from integration.appointments.events import AppointmentData

if TYPE_CHECKING:
    from dataverse import DataverseClient

APPOINTMENT_COLUMNS = (
    "subject",
    "scheduledstart",
    "scheduledend",
    "scheduleddurationminutes",
    "location",
    "description",
    "statecode",
    "statuscode",
    "_regardingobjectid_value",
)

LOOKUP_TYPES = 'odata.include-annotations="Microsoft.Dynamics.CRM.lookuplogicalname"'
"""Tells which table ``_regardingobjectid_value`` points at (it is polymorphic)."""


@dataclass(frozen=True)
class Snapshot:
    referenced: CustomerRef | None
    """The ``crmReference`` record, when given and present."""
    contact_id: str | None
    lead_id: str | None
    organizer_id: str | None
    appointment: Mapping[str, Any] | None

    def known_customer(self) -> CustomerRef | None:
        """docs/spec.md#23-post-apiwebhooksappointments "Who", in order; ``None`` when a lead has to be created."""
        if self.referenced:
            return self.referenced
        if self.contact_id:
            return CustomerRef("contact", self.contact_id)
        if self.lead_id:
            return CustomerRef("lead", self.lead_id)
        return None


async def read_snapshot(
    client: "DataverseClient", data: AppointmentData, row_id: str, version_column: str | None
) -> Snapshot:
    names: list[str] = []
    reads: list[request_builders.Request] = []

    def add(name: str, request: request_builders.Request) -> None:
        names.append(name)
        reads.append(request)

    if data.crmReference:
        ref = data.crmReference
        add("referenced", _first(f"{ref.entity}s", f"{ref.entity}id", f"{ref.entity}id eq {odata.guid(ref.id)}"))
    email = data.customer.email if data.customer else None
    if email:
        add("contact", _first("contacts", "contactid", f"emailaddress1 eq {odata.literal(email)} and statecode eq 0"))
        add("lead", _first("leads", "leadid", f"emailaddress1 eq {odata.literal(email)} and statecode eq 0"))
    if data.staff and data.staff.email:
        add("organizer", _first("systemusers", "systemuserid", f"internalemailaddress eq {odata.literal(data.staff.email)}"))
    columns = [*APPOINTMENT_COLUMNS, *([version_column] if version_column else [])]
    appointment = request_builders.query(
        "appointments",
        select=columns,
        filter=f"activityid eq {odata.guid(row_id)}",
        expand=f"{PARTIES}($select=_partyid_value,participationtypemask)",
    )
    add("appointment", replace(appointment, headers={**appointment.headers, "Prefer": LOOKUP_TYPES}))
    results = await client.batch(reads)
    rows: dict[str, list[dict[str, Any]]] = {}
    for name, result in zip(names, results, strict=True):  # one answer per read
        result.raise_for_error()
        rows[name] = _rows(result.json)
    referenced = None
    if rows.get("referenced") and data.crmReference:
        referenced = CustomerRef(data.crmReference.entity, data.crmReference.id)
    return Snapshot(
        referenced=referenced,
        contact_id=_id(rows.get("contact"), "contactid"),
        lead_id=_id(rows.get("lead"), "leadid"),
        organizer_id=_id(rows.get("organizer"), "systemuserid"),
        appointment=rows["appointment"][0] if rows["appointment"] else None,
    )


def _first(entity_set: str, key: str, filter: str) -> request_builders.Request:
    """The oldest matching row, so every delivery settles on the same record."""
    return request_builders.query(entity_set, select=[key], filter=filter, orderby="createdon asc", top=1)


def _rows(body: Any) -> list[dict[str, Any]]:
    value = body.get("value") if isinstance(body, Mapping) else None
    return [row for row in value if isinstance(row, dict)] if isinstance(value, list) else []


def _id(rows: Sequence[Mapping[str, Any]] | None, key: str) -> str | None:
    if not rows or not rows[0].get(key):
        return None
    return str(rows[0][key]).lower()
