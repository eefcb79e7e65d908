"""The sandbox's ASGI app: the booking API, the booking page and the test controls."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from . import control
from .booking_page import BookingPage

if TYPE_CHECKING:
    from .sandbox import BookingSandbox

INDEX = (
    "Booking sandbox (development only)\n"
    "POST /api/sessions            create a booking session (docs/spec.md#3-the-booking-api-the-app-calls)\n"
    "GET  /book?session=<id>       the booking page\n"
    "     /_sandbox/...            test controls (docs/booking-sandbox.md)\n"
)

Handler = Callable[[Request], Awaitable[Response]]


def build_app(sandbox: "BookingSandbox") -> Starlette:
    page = BookingPage(sandbox.state, sandbox.bookings, sandbox.slots)

    def logged(handler: Handler) -> Handler:
        async def run(request: Request) -> Response:
            raw = await request.body()
            sandbox.state.log_request(
                {
                    "method": request.method,
                    "path": request.url.path,
                    "query": request.url.query,
                    "headers": {k.lower(): v for k, v in request.headers.items()},
                    "json": _json_or_none(raw),
                }
            )
            return await handler(request)

        return run

    async def index(request: Request) -> Response:
        return PlainTextResponse(INDEX)

    routes = [
        Route("/", index, methods=["GET"]),
        Route("/api/sessions", logged(sandbox.api.create), methods=["POST"]),
        Route("/book", logged(page.show), methods=["GET"]),
        Route("/book/confirm", logged(page.confirm), methods=["POST"]),
        Route("/book/reschedule", logged(page.reschedule), methods=["POST"]),
        Route("/book/cancel", logged(page.cancel), methods=["POST"]),
        *control.routes(sandbox),
    ]
    return Starlette(routes=routes)


def _json_or_none(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw else None
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None
