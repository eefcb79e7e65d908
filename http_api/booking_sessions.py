"""POST /api/booking-sessions and GET /api/booking-sessions/redirect (docs/spec.md#21-post-apibooking-sessions, #22-get-apibooking-sessionsredirect)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import azure.functions as func

from http_api.problems import answers_problems, json_response

if TYPE_CHECKING:
    from entry.composition_root import CompositionRoot

_NO_STORE = {"Cache-Control": "no-store"}


def blueprint(root: CompositionRoot) -> func.Blueprint:
    bp = func.Blueprint()

    @bp.function_name(name="create_booking_session")
    @bp.route(route="booking-sessions", methods=["POST"], auth_level=func.AuthLevel.FUNCTION)
    @answers_problems
    async def create_booking_session(req: func.HttpRequest) -> func.HttpResponse:
        from integration.booking_sessions import request_from_body, start_booking_session

        session = await start_booking_session(root.dependencies(), request_from_body(req.get_body()))
        return json_response(session.as_json(), status=201, headers=_NO_STORE)

    @bp.function_name(name="redirect_to_booking")
    @bp.route(route="booking-sessions/redirect", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
    @answers_problems
    async def redirect_to_booking(req: func.HttpRequest) -> func.HttpResponse:
        """For a button that opens a URL: the same session, answered as a redirect to the booking page."""
        from integration.booking_sessions import request_from_query, start_booking_session

        session = await start_booking_session(root.dependencies(), request_from_query(req.params))
        return func.HttpResponse(status_code=302, headers={"Location": session.redirect_url, **_NO_STORE})

    return bp
