"""Calling the app's HTTP handlers the way the Functions host does (a real ``func.HttpRequest``),
for suites that test a flow without a host in between."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import azure.functions as func

from tests.support.webhooks import ROUTE as WEBHOOK_ROUTE
from tests.support.webhooks import signed_headers


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


async def call_webhook(req: func.HttpRequest) -> Answer:
    from http_api.appointment_webhook import appointment_webhook

    response = await appointment_webhook(req)
    raw = response.get_body()
    return Answer(response.status_code, json.loads(raw) if raw else None, dict(response.headers), response.mimetype)


async def post_session(body: Any) -> func.HttpResponse:
    from http_api.booking_sessions import create_booking_session

    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    request = func.HttpRequest("POST", "/api/booking-sessions", body=raw, headers={"Content-Type": "application/json"})
    return await create_booking_session(request)


async def get_redirect(params: dict[str, str]) -> func.HttpResponse:
    from http_api.booking_sessions import redirect_to_booking

    request = func.HttpRequest("GET", "/api/booking-sessions/redirect", body=b"", params=params)
    return await redirect_to_booking(request)


def answer(response: func.HttpResponse) -> dict[str, Any]:
    return json.loads(response.get_body())


async def post_schedule_import(document: Any) -> tuple[int, dict[str, Any], func.HttpResponse]:
    from http_api.schedule_import import import_schedules

    body = document if isinstance(document, bytes) else json.dumps(document).encode()
    response = await import_schedules(func.HttpRequest("POST", "/api/schedules/import", body=body))
    return response.status_code, json.loads(response.get_body() or b"null"), response
