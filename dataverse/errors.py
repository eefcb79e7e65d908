"""Typed Dataverse errors, one class per way a caller (or the HTTP layer) reacts.

``str()`` and ``repr()`` show the status, the service's ``0x...`` code and the request ids,
never the service's message or a body: messages can echo filter values (emails, names).
The message stays available as ``.message`` for callers that know it is safe to show;
messages the client writes itself (``from_service=False``) are shown.
"""

from __future__ import annotations

from typing import Any

DUPLICATE_CODES = frozenset({"0x80040237", "0x80060892"})
VERSION_MISMATCH_CODE = "0x80060882"


class DataverseError(Exception):
    """Base of every error this client raises for a failed Dataverse call."""

    def __init__(
        self,
        message: str = "",
        *,
        status: int | None = None,
        code: str | None = None,
        retry_after: float | None = None,
        client_request_id: str | None = None,
        service_request_id: str | None = None,
        from_service: bool = False,
    ) -> None:
        super().__init__(message)
        self.from_service = from_service
        self.message = message
        self.status = status
        self.code = code
        self.retry_after = retry_after
        self.client_request_id = client_request_id
        self.service_request_id = service_request_id

    def __str__(self) -> str:
        parts = [f"Dataverse {'HTTP ' + str(self.status) if self.status else 'request failed'}"]
        if self.message and not self.from_service:
            parts.append(self.message)
        if self.code:
            parts.append(f"code {self.code}")
        if self.retry_after is not None:
            parts.append(f"retry after {self.retry_after:g}s")
        if self.client_request_id:
            parts.append(f"client request {self.client_request_id}")
        if self.service_request_id:
            parts.append(f"service request {self.service_request_id}")
        return ", ".join(parts)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(status={self.status!r}, code={self.code!r}, retry_after={self.retry_after!r}, "
            f"client_request_id={self.client_request_id!r}, service_request_id={self.service_request_id!r})"
        )


class BadRequest(DataverseError):
    """400: the request is invalid (unknown column, bad bind, validation)."""


class Unauthorized(DataverseError):
    """401: the token was refused even after one forced refresh."""


class Forbidden(DataverseError):
    """403: the application user lacks a privilege."""


class NotFound(DataverseError):
    """404: the row (or entity set) does not exist."""


class PreconditionFailed(DataverseError):
    """412: an If-Match / If-None-Match condition did not hold."""


class Duplicate(PreconditionFailed):
    """412 with a duplicate-key code: the row (or its alternate key) already exists."""


class VersionMismatch(PreconditionFailed):
    """412 with 0x80060882: the row changed since its etag was read."""


class Throttled(DataverseError):
    """429 that outlasted the retry budget; ``retry_after`` says when to come back."""


class Unavailable(DataverseError):
    """5xx, a connection failure, or retries exhausted: worth retrying later."""


class Timeout(Unavailable):
    """No answer within the client's timeout."""


_BY_STATUS: dict[int, type[DataverseError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    412: PreconditionFailed,
    429: Throttled,
}


def error_class(status: int, code: str | None) -> type[DataverseError]:
    """The class for an error answer with this status and service code."""
    if status == 412 and code:
        if code.lower() in DUPLICATE_CODES:
            return Duplicate
        if code.lower() == VERSION_MISMATCH_CODE:
            return VersionMismatch
    if status in _BY_STATUS:
        return _BY_STATUS[status]
    if status >= 500:
        return Unavailable
    return DataverseError


def parse_error_body(body: Any) -> tuple[str | None, str]:
    """``(code, message)`` from ``{"error": {"code", "message"}}``, tolerating anything else."""
    if isinstance(body, dict):
        inner = body.get("error")
        if isinstance(inner, dict):
            code = inner.get("code")
            message = inner.get("message")
            return (str(code) if code not in (None, "") else None, str(message) if message is not None else "")
        if isinstance(body.get("message"), str):
            return None, body["message"]
    return None, ""


def build_error(
    status: int,
    body: Any,
    *,
    retry_after: float | None = None,
    client_request_id: str | None = None,
    service_request_id: str | None = None,
) -> DataverseError:
    """The typed error for an answer with ``status`` and the parsed (possibly malformed) ``body``."""
    code, message = parse_error_body(body)
    return error_class(status, code)(
        message,
        status=status,
        code=code,
        retry_after=retry_after,
        client_request_id=client_request_id,
        service_request_id=service_request_id,
        from_service=True,
    )
