"""Calling the app's HTTP handlers the way the Functions host does (a real ``func.HttpRequest``),
built around a test's own composition root, for suites that test a flow without a host in between."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import azure.functions as func

from tests.support.webhooks import ROUTE as WEBHOOK_ROUTE
from tests.support.webhooks import event, signed_headers

if TYPE_CHECKING:
    from entry.composition_root import CompositionRoot

Handler = Callable[..., Awaitable[func.HttpResponse]]


def app_handler(root: CompositionRoot, function_name: str) -> Handler:
    """The function ``function_name`` of the app that ``function_app.py`` builds, served with ``root``."""
    from http_api import build_app

    app = build_app(root)
    for function in app.get_functions():
        if function.get_function_name() == function_name:
            return function.get_user_function()
    raise LookupError(f"the app has no function {function_name!r}")


@dataclass
class Answer:
    status: int
    body: Any
    headers: dict[str, str]
    mimetype: str


Deliver = Callable[..., Awaitable[Answer]]  # sends a webhook body (dict or bytes), optionally with headers


def webhook_request(body: bytes | dict[str, Any], headers: dict[str, str] | None = None) -> func.HttpRequest:
    """A webhook delivery; signed with the test secret unless ``headers`` are given."""
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return func.HttpRequest(
        method="POST",
        url="http://127.0.0.1" + WEBHOOK_ROUTE,
        headers=signed_headers(raw) if headers is None else headers,
        body=raw,
    )


async def call_handler(handler: Handler, req: func.HttpRequest) -> Answer:
    response = await handler(req)
    raw = response.get_body()
    return Answer(response.status_code, json.loads(raw) if raw else None, dict(response.headers), response.mimetype)


async def post_session(root: CompositionRoot, body: Any) -> func.HttpResponse:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    request = func.HttpRequest("POST", "/api/booking-sessions", body=raw, headers={"Content-Type": "application/json"})
    return await app_handler(root, "create_booking_session")(request)


async def get_redirect(root: CompositionRoot, params: dict[str, str]) -> func.HttpResponse:
    request = func.HttpRequest("GET", "/api/booking-sessions/redirect", body=b"", params=params)
    return await app_handler(root, "redirect_to_booking")(request)


def answer(response: func.HttpResponse) -> dict[str, Any]:
    return json.loads(response.get_body())


async def booked(root: CompositionRoot, appointment_id: str, entity: str, row_id: str) -> None:
    """The booking system reports ``appointment_id`` for the record: the app's webhook creates the appointment."""
    response = await app_handler(root, "appointment_webhook")(
        webhook_request(event(appointment_id, crmReference={"entity": entity, "id": row_id}))
    )
    assert response.status_code == 200, response.get_body()
    assert answer(response)["regarding"] == {"entity": entity, "id": row_id}
