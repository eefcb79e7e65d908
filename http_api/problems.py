"""Errors as HTTP answers (RFC 9457 problem+json), and the wrapper every handler wears.

Handlers are wrapped with :func:`answers_problems`; whatever a flow or client raises becomes
the problem document of :mod:`entry.problems` (the one error → answer mapping, shared with
the schedule command) with the right status, ``Retry-After`` where a retry can help, and no
stack trace, secret or personal data in the answer or the log.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import json
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import azure.functions as func

if TYPE_CHECKING:
    from entry.problems import Problem

PROBLEM_JSON = "application/problem+json"
Handler = Callable[[func.HttpRequest], Awaitable[func.HttpResponse]]


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> func.HttpResponse:
    return func.HttpResponse(
        json.dumps(body, separators=(",", ":")), status_code=status, headers=headers, mimetype="application/json"
    )


def problem_response(problem: Problem) -> func.HttpResponse:
    """A problem document as the HTTP answer, with ``Retry-After`` where a retry can help."""
    seconds = problem.retry_after_seconds
    headers = {**problem.headers, **({} if seconds is None else {"Retry-After": str(seconds)})}
    return func.HttpResponse(
        json.dumps(problem.document(), separators=(",", ":")), status_code=problem.status, headers=headers,
        mimetype=PROBLEM_JSON,
    )


def answer_for(exc: BaseException) -> func.HttpResponse:
    """Map any exception to its problem answer (the mapping itself is :func:`entry.problems.problem_for`)."""
    from entry.problems import problem_for

    return problem_response(problem_for(exc))


DEADLINE_SECONDS = 25.0
"""How long a request may take before it is answered 503 + Retry-After: under the patience of
a ribbon button (30 s) and of webhook senders (15-30 s), and far under the host's 230 s."""


def deadline_passed() -> func.HttpResponse:
    from entry.problems import DEADLINE_PASSED

    return problem_response(DEADLINE_PASSED)


def answers_problems(
    handler: Handler | None = None, *, deadline: float = DEADLINE_SECONDS
) -> Any:
    """Wrap an async handler so that every exception becomes a problem answer.

    The handler is cancelled at ``deadline`` seconds and answered 503 + Retry-After; the
    flows write in atomic steps with deterministic ids, so a retry completes what was cut.
    The wrapper also takes the host's ``context`` (the worker passes it to a function that
    declares it) so every log line of the request carries the invocation id, and logs one
    summary line per request (see :mod:`entry.observability`).
    """
    if handler is None:
        return functools.partial(answers_problems, deadline=deadline)

    @functools.wraps(handler)
    async def wrapper(req: func.HttpRequest, context: func.Context = None) -> func.HttpResponse:  # type: ignore[assignment]
        from entry.observability import invocation_scope

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
