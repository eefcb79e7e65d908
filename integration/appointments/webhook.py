"""One delivery of the appointment webhook, from raw bytes to the answer (docs/spec.md#23-post-apiwebhooksappointments).

The order is the security boundary: size, then signature on the raw bytes, then parsing;
Dataverse is not touched before the signature holds.

With the app's storage account (``dependencies.storage``), delivery records come next
(:mod:`integration.appointments.delivery_records`): a ``webhook-id`` applied before is answered
``unchanged`` from its record without touching Dataverse; a new one is applied, then recorded.
While applying, the sync claims the event's ``updatedAt`` in the appointment's marker before it
writes Dataverse, so an event older than one already started is ``stale`` even when its own
record was never written. A storage outage answers 503 + Retry-After: before anything is
written to Dataverse when the lookup or the claim fails; after applying when the record cannot
be written, and then the sender's redelivery (the marker holds its own ``updatedAt``, so it may
proceed) applies the event again (the sync is idempotent: ``unchanged``) and records it, or
answers ``stale`` if a newer event was applied meanwhile. Ignored event types are not recorded:
they change nothing, so a replay of one is harmless.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from integration.appointments.events import parse_event
from integration.appointments.signature import check_size, verify_delivery
from integration.dependencies import Dependencies

log = logging.getLogger("integration.appointments")


async def handle_delivery(dependencies: Dependencies, body: bytes, headers: Mapping[str, str]) -> dict[str, Any]:
    check_size(body)
    settings = dependencies.settings
    delivery_id = verify_delivery(body, headers, settings.booking_webhook_secrets)
    event = parse_event(body)
    if event is None:
        log.info("webhook %s ignored: event type not handled", delivery_id)
        return {"result": "ignored"}
    from integration.appointments.sync import sync_appointment

    records = markers = None
    if dependencies.storage is not None:
        from integration.appointments.delivery_records import AppointmentMarkers, DeliveryRecords

        records, markers = DeliveryRecords(dependencies.storage), AppointmentMarkers(dependencies.storage)
        known = await records.find(delivery_id, datetime.now(timezone.utc))
        if known is not None:
            log.info("webhook %s applied before (%s appointment %s): unchanged", delivery_id, known.result,
                     known.appointment)
            return known.as_answer()

    outcome = await sync_appointment(
        dependencies.dataverse,
        event.data,
        source=settings.booking_source,
        version_column=settings.appointment_version_column,
        creation=event.type == "appointment.created",
        order=markers,
    )
    log.info("webhook %s: %s appointment %s", delivery_id, outcome.result, outcome.appointment)
    if records is not None:
        await records.add(delivery_id, outcome, datetime.now(timezone.utc))
    return outcome.as_answer()
