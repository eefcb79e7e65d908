"""Test control over HTTP under ``/_sandbox/``: emit events without a browser, plan failures, inspect logs."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .api import problem
from .bookings import Bookings, InvalidBooking, UnknownAppointment, UnknownSession
from .models import BookIn, ConfigIn, ExpiresAtIn, FailNextIn, RescheduleIn, SessionIdsIn

if TYPE_CHECKING:
    from .sandbox import BookingSandbox

Handler = Callable[[Request], Awaitable[Response]]


async def _body(request: Request, model: type[BaseModel]) -> Any:
    raw = await request.body()
    return model.model_validate(json.loads(raw or b"{}"))


def _guarded(handler: Handler) -> Handler:
    """Turn bad input and unknown ids into problem answers."""

    async def run(request: Request) -> Response:
        try:
            return await handler(request)
        except (json.JSONDecodeError, ValidationError, InvalidBooking, ValueError) as exc:
            return problem(400, "Invalid control request", str(exc).splitlines()[0])
        except (UnknownSession, UnknownAppointment, LookupError) as exc:
            return problem(404, "Not found", f"unknown id {exc}")

    return run


def routes(sandbox: "BookingSandbox") -> list[Route]:
    bookings: Bookings = sandbox.bookings

    async def book(request: Request) -> Response:
        body: BookIn = await _body(request, BookIn)
        apt_id = bookings.book(
            body.sessionId, start=body.start, end=body.end, subject=body.subject, location=body.location, notes=body.notes
        )
        return JSONResponse({"appointmentId": apt_id}, status_code=201)

    async def reschedule(request: Request) -> Response:
        body: RescheduleIn = await _body(request, RescheduleIn)
        bookings.reschedule(request.path_params["apt"], body.start, body.end)
        return JSONResponse({"appointmentId": request.path_params["apt"]})

    async def cancel(request: Request) -> Response:
        bookings.cancel(request.path_params["apt"])
        return JSONResponse({"appointmentId": request.path_params["apt"]})

    async def complete(request: Request) -> Response:
        bookings.complete(request.path_params["apt"])
        return JSONResponse({"appointmentId": request.path_params["apt"]})

    async def redeliver(request: Request) -> Response:
        bookings.redeliver(request.path_params["webhook_id"])
        return JSONResponse({"webhookId": request.path_params["webhook_id"]}, status_code=202)

    async def fail_next(request: Request) -> Response:
        body: FailNextIn = await _body(request, FailNextIn)
        sandbox.fail_next(body.n, body.mode, body.retryAfter)
        return JSONResponse({"queued": body.n, "mode": body.mode})

    async def next_session_ids(request: Request) -> Response:
        body: SessionIdsIn = await _body(request, SessionIdsIn)
        sandbox.next_session_ids.extend(body.ids)
        return JSONResponse({"queued": len(body.ids)})

    async def next_expires_at(request: Request) -> Response:
        body: ExpiresAtIn = await _body(request, ExpiresAtIn)
        sandbox.next_expires_at.extend(body.values)
        return JSONResponse({"queued": len(body.values)})

    async def configure(request: Request) -> Response:
        body: ConfigIn = await _body(request, ConfigIn)
        if "webhookUrl" in body.model_fields_set:
            sandbox.webhook_url = body.webhookUrl
        if "webhookSecret" in body.model_fields_set and body.webhookSecret:
            sandbox.webhook_secret = body.webhookSecret
        if "apiKey" in body.model_fields_set:
            sandbox.api_key = body.apiKey
        return JSONResponse({"webhookUrl": sandbox.webhook_url})

    async def reset(request: Request) -> Response:
        sandbox.reset()
        return Response(status_code=204)

    async def wait(request: Request) -> Response:
        timeout = min(float(request.query_params.get("timeout", "10")), 60.0)
        idle = await asyncio.to_thread(sandbox.wait_for_deliveries, timeout)
        return JSONResponse({"idle": idle}, status_code=200 if idle else 504)

    def listing(read: Callable[[], Any]) -> Handler:
        async def show(request: Request) -> Response:
            return JSONResponse(read())

        return show

    def post(path: str, handler: Handler) -> Route:
        return Route(path, _guarded(handler), methods=["POST"])

    return [
        post("/_sandbox/book", book),
        post("/_sandbox/appointments/{apt}/reschedule", reschedule),
        post("/_sandbox/appointments/{apt}/cancel", cancel),
        post("/_sandbox/appointments/{apt}/complete", complete),
        post("/_sandbox/deliveries/{webhook_id}/redeliver", redeliver),
        post("/_sandbox/fail-next", fail_next),
        post("/_sandbox/next-session-ids", next_session_ids),
        post("/_sandbox/next-expires-at", next_expires_at),
        post("/_sandbox/config", configure),
        post("/_sandbox/reset", reset),
        post("/_sandbox/wait", wait),
        Route("/_sandbox/requests", listing(lambda: sandbox.requests)),
        Route("/_sandbox/sessions", listing(lambda: sandbox.sessions)),
        Route("/_sandbox/appointments", listing(lambda: sandbox.appointments)),
        Route("/_sandbox/deliveries", listing(lambda: sandbox.deliveries)),
        Route("/_sandbox/events", listing(lambda: [{k: v for k, v in e.items() if k != "body"} for e in sandbox.events])),
    ]
