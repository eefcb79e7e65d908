"""The one place that turns errors into HTTP answers (RFC 9457 problem+json).

Handlers are wrapped with :func:`answers_problems`; whatever a flow or client raises becomes
a problem document with the right status, ``Retry-After`` where a retry can help, and no
stack trace, secret or personal data in the answer or the log.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import json
import logging
import math
import sys
import traceback
from collections.abc import Awaitable, Callable
from typing import Any

import azure.functions as func

log = logging.getLogger("integration.http")

PROBLEM_JSON = "application/problem+json"
Handler = Callable[[func.HttpRequest], Awaitable[func.HttpResponse]]


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> func.HttpResponse:
    return func.HttpResponse(
        json.dumps(body, separators=(",", ":")), status_code=status, headers=headers, mimetype="application/json"
    )


def problem(
    status: int,
    title: str,
    detail: str | None = None,
    *,
    retry_after: float | None = None,
    problem_type: str = "about:blank",
    **extensions: Any,
) -> func.HttpResponse:
    body: dict[str, Any] = {"type": problem_type, "title": title, "status": status}
    if detail:
        body["detail"] = detail
    body.update(extensions)
    headers = {}
    if retry_after is not None:
        seconds = max(1, math.ceil(retry_after))
        headers["Retry-After"] = str(seconds)
        body["retryAfter"] = seconds  # browsers hide Retry-After from cross-origin callers (the ribbon button)
    return func.HttpResponse(
        json.dumps(body, separators=(",", ":")), status_code=status, headers=headers, mimetype=PROBLEM_JSON
    )


def answer_for(exc: BaseException) -> func.HttpResponse:
    """Map any exception to its problem answer."""
    from integration.errors import IntegrationError, InvalidInput
    from integration.settings import SettingsError

    if isinstance(exc, InvalidInput):
        return problem(exc.status, exc.title, exc.detail, errors=[p.as_dict() for p in exc.problems])
    if isinstance(exc, IntegrationError):
        return problem(exc.status, exc.title, exc.detail, retry_after=exc.retry_after)
    if isinstance(exc, SettingsError):
        return problem(
            503,
            "The app is misconfigured",
            "; ".join(str(p) for p in exc.problems),
            settings=[p.name for p in exc.problems],
        )
    mapped = _client_error_answer(exc)
    if mapped is not None:
        return mapped
    log.error(
        "unhandled %s\n%s", type(exc).__name__, "".join(traceback.format_tb(exc.__traceback__))
    )
    return problem(500, "Internal error", "The request could not be completed; it is safe to retry.")


def _client_error_answer(exc: BaseException) -> func.HttpResponse | None:
    """Answers for the clients' typed errors.

    Looked up through ``sys.modules``: a client's error can only exist once its module is
    loaded, and importing it here eagerly would slow the cold start.
    """
    dv = sys.modules.get("dataverse.errors")
    if dv is not None and isinstance(exc, dv.DataverseError):
        # A Dataverse timeout is an outage like any other: docs/spec.md#23-post-apiwebhooksappointments / #24-post-apischedulesimport promise 503 for those.
        if isinstance(exc, dv.Timeout):
            return problem(503, "Dataverse unavailable", "Dataverse did not answer in time; retry later.", retry_after=exc.retry_after or 5)
        if isinstance(exc, (dv.Throttled, dv.Unavailable)):
            return problem(
                503, "Dataverse unavailable", "Dataverse is throttling or unavailable; retry later.",
                retry_after=exc.retry_after or 5,
            )
        return problem(
            502, "Dataverse rejected the request",
            f"Dataverse answered {exc.status} with error code {exc.code or 'n/a'}.",
        )
    bk = sys.modules.get("booking_client.errors")
    if bk is not None and isinstance(exc, bk.BookingError):
        if isinstance(exc, bk.BookingTimeout):
            return problem(504, "Booking system timed out", "The booking system did not answer in time.", retry_after=exc.retry_after or 5)
        if isinstance(exc, bk.BookingUnavailable):
            return problem(
                503, "Booking system unavailable", "The booking system is throttling or unavailable; retry later.",
                retry_after=exc.retry_after or 5,
            )
        return problem(502, "Bad answer from the booking system", str(exc))
    return None


DEADLINE_SECONDS = 25.0
"""How long a request may take before it is answered 503 + Retry-After: under the patience of
a ribbon button (30 s) and of webhook senders (15-30 s), and far under the host's 230 s."""


def deadline_passed() -> func.HttpResponse:
    return problem(503, "Took too long", "The request could not be completed in time; it is safe to retry.", retry_after=5)


def answers_problems(
    handler: Handler | None = None, *, deadline: float = DEADLINE_SECONDS
) -> Any:
    """Wrap an async handler so that every exception becomes a problem answer.

    The handler is cancelled at ``deadline`` seconds and answered 503 + Retry-After; the
    flows write in atomic steps with deterministic ids, so a retry completes what was cut.
    The wrapper also takes the host's ``context`` (the worker passes it to a function that
    declares it) so every log line of the request carries the invocation id, and logs one
    summary line per request (see :mod:`integration.observability`).
    """
    if handler is None:
        return functools.partial(answers_problems, deadline=deadline)

    @functools.wraps(handler)
    async def wrapper(req: func.HttpRequest, context: func.Context = None) -> func.HttpResponse:  # type: ignore[assignment]
        from integration.observability import invocation_scope

        with invocation_scope(handler.__name__, context) as invocation:
            try:
                async with asyncio.timeout(deadline) as limit:
                    response = await handler(req)
            except TimeoutError as exc:
                response = deadline_passed() if limit.expired() else answer_for(exc)
            except Exception as exc:  # noqa: BLE001 - this is the one place that answers for all errors
                response = answer_for(exc)
            invocation.status = response.status_code
            return response

    # functools.wraps points inspect.signature at the handler; the worker and the devhost must
    # see the wrapper's own parameters to pass ``context``.
    del wrapper.__wrapped__
    wrapper.__annotations__ = {"req": func.HttpRequest, "context": func.Context, "return": func.HttpResponse}
    wrapper.__signature__ = inspect.signature(wrapper)  # type: ignore[attr-defined]
    return wrapper
