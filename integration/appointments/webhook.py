"""One delivery of the appointment webhook, from raw bytes to the answer (docs/spec.md#23-post-apiwebhooksappointments).

The order is the security boundary: size, then signature on the raw bytes, then parsing;
Dataverse is not touched before the signature holds.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
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

    outcome = await sync_appointment(
        dependencies.dataverse,
        event.data,
        source=settings.booking_source,
        version_column=settings.appointment_version_column,
        creation=event.type == "appointment.created",
    )
    log.info("webhook %s: %s appointment %s", delivery_id, outcome.result, outcome.appointment)
    return outcome.as_answer()
