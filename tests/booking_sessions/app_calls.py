"""Calling the app's handlers the way the Functions host does (around a given composition root),
and reading what the sandbox saw."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import azure.functions as func

from tests.app_handlers import app_handler

if TYPE_CHECKING:
    from entry.composition_root import CompositionRoot

BOOKING_API_KEY = "sandbox-api-key-7f3a"  # test-only


def session_requests(sandbox: Any) -> list[dict[str, Any]]:
    return [r for r in sandbox.requests if r["method"] == "POST" and r["path"] == "/api/sessions"]


async def post_session(root: CompositionRoot, body: Any) -> func.HttpResponse:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    request = func.HttpRequest("POST", "/api/booking-sessions", body=raw, headers={"Content-Type": "application/json"})
    return await app_handler(root, "create_booking_session")(request)


async def get_redirect(root: CompositionRoot, params: dict[str, str]) -> func.HttpResponse:
    request = func.HttpRequest("GET", "/api/booking-sessions/redirect", body=b"", params=params)
    return await app_handler(root, "redirect_to_booking")(request)


async def booked(root: CompositionRoot, appointment_id: str, entity: str, row_id: str) -> None:
    """The booking system reports ``appointment_id`` for the record: the app's webhook creates the appointment."""
    from tests.appointments.delivery import event, request

    response = await app_handler(root, "appointment_webhook")(
        request(event(appointment_id, crmReference={"entity": entity, "id": row_id}))
    )
    assert response.status_code == 200, response.get_body()
    assert answer(response)["regarding"] == {"entity": entity, "id": row_id}


def answer(response: func.HttpResponse) -> dict[str, Any]:
    return json.loads(response.get_body())
