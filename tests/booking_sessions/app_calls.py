"""Calling the app's handlers the way the Functions host does, and reading what the sandbox saw."""

from __future__ import annotations

import json
from typing import Any

import azure.functions as func

BOOKING_API_KEY = "sandbox-api-key-7f3a"  # test-only


def session_requests(sandbox: Any) -> list[dict[str, Any]]:
    return [r for r in sandbox.requests if r["method"] == "POST" and r["path"] == "/api/sessions"]


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
