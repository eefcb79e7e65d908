"""The session route as the ribbon button calls it in entra mode: a bearer token and a JSON body."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import azure.functions as func

from tests.support.handlers import app_handler

if TYPE_CHECKING:
    from entry.composition_root import CompositionRoot


async def post_as(root: CompositionRoot, authorization: str | None, body: Any) -> func.HttpResponse:
    headers = {"Content-Type": "application/json"}
    if authorization is not None:
        headers["Authorization"] = authorization
    raw = json.dumps(body).encode()
    request = func.HttpRequest("POST", "/api/booking-sessions", body=raw, headers=headers)
    return await app_handler(root, "create_booking_session")(request)


def regarding(entity: str, row_id: str, appointment_id: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"regarding": {"entity": entity, "id": row_id}}
    if appointment_id:
        body["appointmentId"] = appointment_id
    return body
