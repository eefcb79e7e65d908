"""Which invocation a log line belongs to, one summary line per request, optional Application Insights.

The Functions host runs many invocations concurrently on one event loop, so the invocation
id lives in a :class:`contextvars.ContextVar`: each request's task (and the tasks it starts)
sees its own. :class:`InvocationFilter` copies it onto every log record that reaches a
handler it is attached to, which is how Application Insights gets it as a custom dimension
and how an operator finds every line of one request, Dataverse request ids included.

Only the standard library is imported here: this module is loaded on the first request.
"""

from __future__ import annotations

import contextvars
import functools
import logging
import os
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

CONNECTION_STRING = "APPLICATIONINSIGHTS_CONNECTION_STRING"
NO_INVOCATION = "-"
OUR_LOGGERS = ("entry", "http_api", "integration", "dataverse", "booking_client")
"""Logger namespaces of the app; their records are the ones an operator searches by invocation id."""

invocation_id: contextvars.ContextVar[str] = contextvars.ContextVar("invocation_id", default=NO_INVOCATION)
function_name: contextvars.ContextVar[str] = contextvars.ContextVar("function_name", default=NO_INVOCATION)

summary_log = logging.getLogger("http_api.invocations")
log = logging.getLogger("entry.observability")


class InvocationFilter(logging.Filter):
    """Adds ``invocation_id`` and ``function_name`` to each record; never drops one.

    Attributes already set (a record logged with ``extra=``) are kept.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "invocation_id"):
            record.invocation_id = invocation_id.get()
        if not hasattr(record, "function_name"):
            record.function_name = function_name.get()
        return True


@dataclass
class Invocation:
    """One request being answered; the wrapper sets ``status`` before the scope closes."""

    function: str
    id: str
    status: int = 0


@contextmanager
def invocation_scope(function: str, context: Any = None) -> Iterator[Invocation]:
    """Bind the invocation id for the code inside, then log one summary line.

    ``context`` is the Functions ``Context`` when the host passed one; a direct call (a test,
    a tool) gets a fresh id so its lines can still be told apart.
    """
    ensure_configured()
    current = Invocation(
        function=getattr(context, "function_name", None) or function,
        id=getattr(context, "invocation_id", None) or str(uuid.uuid4()),
    )
    tokens = (invocation_id.set(current.id), function_name.set(current.function))
    started = time.perf_counter()
    try:
        yield current
    finally:
        duration_ms = round((time.perf_counter() - started) * 1000, 1)
        summary_log.info(
            "%s answered %s in %.1f ms (invocation %s)", current.function, current.status or "error", duration_ms,
            current.id,
            extra={"status": current.status, "duration_ms": duration_ms},
        )
        function_name.reset(tokens[1])
        invocation_id.reset(tokens[0])


def attach_filter(handler: logging.Handler) -> None:
    """Put one :class:`InvocationFilter` on ``handler`` (a second call changes nothing)."""
    if not any(isinstance(f, InvocationFilter) for f in handler.filters):
        handler.addFilter(InvocationFilter())


@functools.cache
def ensure_configured() -> None:
    """Once per process: annotate the records the host's handlers ship, and start App Insights if asked.

    The worker installs its log handler on the root logger before the first invocation, so
    the handlers present now are the ones that export the app's logs.
    """
    for handler in logging.getLogger().handlers:
        attach_filter(handler)
    if os.environ.get(CONNECTION_STRING):
        enable_app_insights()


def enable_app_insights() -> bool:
    """Export logs and traces through OpenTelemetry; without the package, one warning and no crash."""
    try:
        from azure.monitor.opentelemetry import configure_azure_monitor
    except ImportError:
        log.warning("%s is set but azure-monitor-opentelemetry is not installed; logs stay local", CONNECTION_STRING)
        return False
    try:
        configure_azure_monitor()
    except Exception as exc:  # noqa: BLE001 - telemetry must never take the app down
        log.warning("Application Insights could not be configured (%s); logs stay local", type(exc).__name__)
        return False
    for handler in logging.getLogger().handlers:
        attach_filter(handler)
    return True
