"""POST /api/booking-sessions and GET /api/booking-sessions/redirect (docs/spec.md#21-post-apibooking-sessions, #22-get-apibooking-sessionsredirect).

``SESSION_AUTH`` is read when the app is indexed (:meth:`CompositionRoot.session_auth`):
``key`` registers both routes behind a function key; ``entra`` registers the ``POST`` route
anonymous at the Functions level, each request proving its user with an Entra ID access
token, and leaves the redirect route out (a browser navigation carries no bearer token).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import azure.functions as func

from http_api.problems import answers_problems, json_response

if TYPE_CHECKING:
    from entry.composition_root import CompositionRoot

_NO_STORE = {"Cache-Control": "no-store"}


def blueprint(root: CompositionRoot) -> func.Blueprint:
    bp = func.Blueprint()
    if root.session_auth() == "entra":
        _signed_in_user_routes(bp, root)
    else:
        _function_key_routes(bp, root)
    return bp


def _signed_in_user_routes(bp: func.Blueprint, root: CompositionRoot) -> None:
    @bp.function_name(name="create_booking_session")
    @bp.route(route="booking-sessions", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
    @answers_problems
    async def create_booking_session(req: func.HttpRequest) -> func.HttpResponse:
        """The caller's token first (401/403 before anything is read), then the session as that user."""
        from integration.booking_sessions import request_from_body, start_booking_session
        from integration.settings import SettingProblem, SettingsError
        from integration.signed_in_callers import dataverse_as_caller

        dependencies = root.dependencies()
        if dependencies.entra is None:  # changed since indexing: never serve an anonymous route without tokens
            raise SettingsError([SettingProblem("SESSION_AUTH", "the app was started with 'entra'; restart it to change")])
        as_user = await dataverse_as_caller(dependencies.dataverse, dependencies.entra, req.headers.get("Authorization"))
        session = await start_booking_session(dependencies, request_from_body(req.get_body()), as_user=as_user)
        return json_response(session.as_json(), status=201, headers=_NO_STORE)


def _function_key_routes(bp: func.Blueprint, root: CompositionRoot) -> None:
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
