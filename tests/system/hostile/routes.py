"""Sending a body to each POST route the way its legitimate caller would authenticate it."""

from __future__ import annotations

import httpx

from tests.system.hostile.signing import signed_headers

BOOKING_SESSIONS = "/api/booking-sessions"
SCHEDULE_IMPORT = "/api/schedules/import"
WEBHOOK = "/api/webhooks/appointments"
POST_ROUTES = (BOOKING_SESSIONS, SCHEDULE_IMPORT, WEBHOOK)


def post(
    http: httpx.Client, route: str, body: bytes, *, key: str, secret: str, content_type: str = "application/json"
) -> httpx.Response:
    """POST ``body`` with a valid function key, or a valid signature for the webhook, so the parser is reached."""
    headers = signed_headers(body, secret) if route == WEBHOOK else {"x-functions-key": key}
    headers["content-type"] = content_type
    return http.post(route, content=body, headers=headers)
