"""Typed errors of the booking client; the HTTP layer maps each to one answer.

Messages carry status codes and field names only: never the API key, customer data,
session ids or the raw answer, because they end up in problem details and logs.
"""

from __future__ import annotations


class BookingError(Exception):
    """Anything that kept the booking API from giving us a usable session."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class BookingRejected(BookingError):
    """The booking API answered with an error status that a retry will not fix."""


class BookingInvalidAnswer(BookingError):
    """The booking API answered 2xx with something that is not a session (HTML, wrong JSON...)."""


class BookingUnavailable(BookingError):
    """Unreachable, throttling or overloaded even after retries; the caller may retry later."""

    def __init__(self, message: str, *, status: int | None = None, retry_after: float | None = None) -> None:
        super().__init__(message, status=status)
        self.retry_after = retry_after


class BookingTimeout(BookingUnavailable):
    """The booking API did not answer in time."""
