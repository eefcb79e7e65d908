"""The customer an appointment belongs to: found, or created as a lead exactly once.

A new lead's primary key is derived from the source and the normalised email, and it is
created with ``If-None-Match: *``: racing deliveries (or a retry after an outage) all
address the same row, and "already exists" simply means "use it".
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dataverse.errors import PreconditionFailed
from integration.appointments.appointment_record import CustomerRef, fit
from integration.appointments.events import AppointmentData
from integration.appointments.keys import lead_row_id
from integration.appointments.lookups import Snapshot
from integration.errors import FieldProblem, InvalidInput

if TYPE_CHECKING:
    from dataverse import DataverseClient

NAME_MAX = 50
PHONE_MAX = 50
TOPIC_MAX = 300


async def resolve_customer(client: "DataverseClient", data: AppointmentData, snapshot: Snapshot, source: str) -> CustomerRef:
    known = snapshot.known_customer()
    if known:
        return known
    if not (data.customer and data.customer.email):
        raise InvalidInput(
            "The referenced CRM record does not exist and there is no customer email to match or create a lead with.",
            problems=[FieldProblem("$.data.crmReference.id", "does not exist in Dataverse")],
        )
    lead_id = lead_row_id(source, data.customer.email)
    try:
        await client.upsert("leads", lead_id, new_lead(data), only="create")
    except PreconditionFailed:
        pass  # created by a racing delivery or an earlier attempt of this one: the same lead
    return CustomerRef("lead", lead_id)


def new_lead(data: AppointmentData) -> dict[str, Any]:
    """The lead for a customer Dataverse does not know yet (existing records are never edited)."""
    customer = data.customer
    assert customer is not None and customer.email is not None
    topic = f"Booking {data.appointmentId}" + (f": {data.subject}" if data.subject else "")
    return {
        "firstname": fit(customer.firstName, NAME_MAX) or None,
        "lastname": fit(customer.lastName or customer.email.split("@", 1)[0], NAME_MAX),
        "emailaddress1": customer.email,
        "telephone1": fit(customer.phone, PHONE_MAX) or None,
        "subject": fit(topic, TOPIC_MAX),
    }
