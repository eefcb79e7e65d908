"""Errors the flows raise, each meaning one HTTP answer (see :mod:`entry.problems`).

The Dataverse and booking clients have their own typed errors; the HTTP layer maps those
too, so a flow only catches what it can do something about.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class FieldProblem:
    """One problem with an input, located by a JSON path such as ``$.agents[3].email``."""

    path: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"path": self.path, "message": self.message}


class IntegrationError(Exception):
    status = 500
    title = "Integration error"
    retry_after: float | None = None

    def __init__(self, detail: str):
        super().__init__(detail)
        self.detail = detail


class InvalidInput(IntegrationError):
    """The request is malformed; ``problems`` lists every problem found, by JSON path."""

    status, title = 400, "Invalid request"

    def __init__(self, detail: str, problems: Iterable[FieldProblem] = ()):
        super().__init__(detail)
        self.problems = list(problems)


class RecordNotFound(IntegrationError):
    status, title = 404, "Record not found"


class PayloadTooLarge(IntegrationError):
    status, title = 413, "Payload too large"


class SignatureRejected(IntegrationError):
    status, title = 401, "Invalid webhook signature"


class UpstreamRejected(IntegrationError):
    """An upstream system answered with an error or with something we cannot use."""

    status, title = 502, "Bad answer from an upstream system"


class Busy(IntegrationError):
    """This instance already runs as much of this kind of work as its memory allows: retry later."""

    status, title = 503, "Busy"

    def __init__(self, detail: str, seconds: float):
        super().__init__(detail)
        self.retry_after = seconds


class UpstreamUnavailable(IntegrationError):
    """An upstream system is throttling, down, unreachable or slow: the caller should retry later."""

    def __init__(self, detail: str, seconds: float = 5.0, timed_out: bool = False):
        super().__init__(detail)
        self.retry_after = seconds
        self.status, self.title = (
            (504, "Upstream system timed out") if timed_out else (503, "Upstream system unavailable")
        )
