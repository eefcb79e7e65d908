"""Any exception as an RFC 9457 problem document: the one error → answer mapping.

The HTTP layer (``http_api.problems``) turns a :class:`Problem` into a response; the
schedule command prints the same document and picks its exit code from the status. Error
types are imported directly: the client packages load their heavy parts lazily, so this
costs the cold start only the small error modules.
"""

from __future__ import annotations

import base64
import logging
import math
import traceback
from dataclasses import dataclass, field
from typing import Any

from booking_client import errors as booking
from dataverse import errors as dataverse
from entra_client import errors as entra
from integration.errors import IntegrationError, InvalidInput
from integration.settings import SettingsError
from storage_client import errors as storage

log = logging.getLogger("integration.http")


@dataclass(frozen=True)
class Problem:
    """An answer's status, the problem document's members and, where a retry helps, its delay."""

    status: int
    title: str
    detail: str | None = None
    retry_after: float | None = None
    extensions: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    """Further answer headers (``WWW-Authenticate`` for a refused token)."""

    @property
    def retry_after_seconds(self) -> int | None:
        """``Retry-After`` as whole seconds (``None`` when a retry does not help): see :func:`retry_after_seconds`."""
        return retry_after_seconds(self.retry_after)

    def document(self) -> dict[str, Any]:
        body: dict[str, Any] = {"type": "about:blank", "title": self.title, "status": self.status}
        if self.detail:
            body["detail"] = self.detail
        body.update(self.extensions)
        if self.retry_after_seconds is not None:
            body["retryAfter"] = self.retry_after_seconds  # browsers hide Retry-After from cross-origin callers
        return body


MAX_RETRY_AFTER = 300
"""The longest ``Retry-After`` we answer with (5 minutes), whatever an upstream asked of us."""


def retry_after_seconds(value: float | None) -> int | None:
    """Whole seconds in ``[1, MAX_RETRY_AFTER]`` for a ``Retry-After`` answer; ``None`` for no value.

    The value may come from an upstream's header, so infinity and NaN are possible: an
    unknown wait is answered as the longest one.
    """
    if value is None:
        return None
    try:
        seconds = float(value)
    except (OverflowError, TypeError, ValueError):  # an int of hundreds of digits, or not a number at all
        return MAX_RETRY_AFTER
    if not math.isfinite(seconds):
        return MAX_RETRY_AFTER
    return min(max(1, math.ceil(seconds)), MAX_RETRY_AFTER)


INTERNAL_ERROR = Problem(500, "Internal error", "The request could not be completed; it is safe to retry.")


def problem_for(exc: BaseException) -> Problem:
    """Map any exception to its problem; never raises (a failure here is a plain 500).

    An unexpected exception is logged by type and traceback only, never by its message.
    """
    try:
        return _problem_for(exc)
    except Exception as failure:  # noqa: BLE001 - the answer for an error must never be another error
        log.error("building the answer for %s failed with %s", type(exc).__name__, type(failure).__name__)
        return INTERNAL_ERROR


def _problem_for(exc: BaseException) -> Problem:
    if isinstance(exc, InvalidInput):
        return Problem(exc.status, exc.title, exc.detail, extensions={"errors": [p.as_dict() for p in exc.problems]})
    if isinstance(exc, IntegrationError):
        return Problem(exc.status, exc.title, exc.detail, retry_after=exc.retry_after)
    if isinstance(exc, SettingsError):
        return Problem(
            503, "The app is misconfigured", "; ".join(str(p) for p in exc.problems),
            extensions={"settings": [p.name for p in exc.problems]},
        )
    if isinstance(exc, dataverse.DataverseError):
        return _dataverse_problem(exc)
    if isinstance(exc, booking.BookingError):
        return _booking_problem(exc)
    if isinstance(exc, entra.EntraError):
        return _entra_problem(exc)
    if isinstance(exc, storage.StorageError):
        return _storage_problem(exc)
    log.error("unhandled %s\n%s", type(exc).__name__, "".join(traceback.format_tb(exc.__traceback__)))
    return INTERNAL_ERROR


def _dataverse_problem(exc: dataverse.DataverseError) -> Problem:
    # A Dataverse timeout is an outage like any other: the webhook and import routes promise 503 for those.
    if isinstance(exc, dataverse.Timeout):
        return Problem(503, "Dataverse unavailable", "Dataverse did not answer in time; retry later.",
                       retry_after=exc.retry_after or 5)
    if isinstance(exc, (dataverse.Throttled, dataverse.Unavailable)):
        return Problem(503, "Dataverse unavailable", "Dataverse is throttling or unavailable; retry later.",
                       retry_after=exc.retry_after or 5)
    return Problem(502, "Dataverse rejected the request",
                   f"Dataverse answered {exc.status} with error code {exc.code or 'n/a'}.")


def _booking_problem(exc: booking.BookingError) -> Problem:
    if isinstance(exc, booking.BookingTimeout):
        return Problem(504, "Booking system timed out", "The booking system did not answer in time.",
                       retry_after=exc.retry_after or 5)
    if isinstance(exc, booking.BookingUnavailable):
        return Problem(503, "Booking system unavailable", "The booking system is throttling or unavailable; retry later.",
                       retry_after=exc.retry_after or 5)
    return Problem(502, "Bad answer from the booking system", str(exc))


STORAGE_SETTING = "AzureWebJobsStorage"


def _storage_problem(exc: storage.StorageError) -> Problem:
    if isinstance(exc, storage.StorageMisconfigured):
        answered = f"{exc.status} {exc.code or ''}".strip()
        return Problem(503, "Storage misconfigured",
                       f"The app's storage account answered {answered}: the account or an endpoint in "
                       f"{STORAGE_SETTING} is wrong. An operator has to correct the setting; retry later.",
                       retry_after=exc.retry_after, extensions={"settings": [STORAGE_SETTING]})
    if isinstance(exc, storage.StorageRefused):
        return Problem(503, "Storage unavailable",
                       "The app's storage account refused its credentials (AzureWebJobsStorage); retry later.",
                       retry_after=exc.retry_after)
    if isinstance(exc, storage.StorageUnavailable):
        return Problem(503, "Storage unavailable", "The app's storage account is unreachable or busy; retry later.",
                       retry_after=exc.retry_after)
    # AlreadyExists, ChangedSinceRead, LeaseTaken reaching here: a flow did not handle a race; a retry re-reads.
    log.error("unhandled storage error %s (status %s, code %s)", type(exc).__name__, exc.status, exc.code)
    return Problem(503, "Storage conflict", "A concurrent change got in the way; retry.", retry_after=1)


def _bearer_challenge(error: str, description: str, **more: str) -> dict[str, str]:
    """RFC 6750 section 3 ``WWW-Authenticate``; values are our own fixed texts (no quotes to escape)."""
    params = {"error": error, "error_description": description, **more}
    return {"WWW-Authenticate": "Bearer " + ", ".join(f'{k}="{v}"' for k, v in params.items())}


def _entra_problem(exc: entra.EntraError) -> Problem:
    if isinstance(exc, entra.InvalidToken):
        detail = str(exc)
        return Problem(401, "Invalid access token", detail,
                       headers=_bearer_challenge("invalid_token", detail.replace('"', "'")))
    if isinstance(exc, entra.InsufficientScope):
        detail = f"The access token lacks the delegated scope {exc.scope}."
        return Problem(403, "Insufficient scope", detail,
                       headers=_bearer_challenge("insufficient_scope", detail, scope=exc.scope))
    if isinstance(exc, entra.ExchangeRefused) and exc.error == "interaction_required":
        detail = "Entra ID requires the user to sign in interactively (for example multi-factor authentication)."
        # The claims challenge travels base64-encoded, as Microsoft's client libraries expect it.
        more = {"claims": base64.b64encode(exc.claims.encode()).decode()} if exc.claims and len(exc.claims) < 4096 else {}
        return Problem(401, "Interaction required", detail,
                       headers=_bearer_challenge("invalid_token", "interaction_required", **more))
    if isinstance(exc, entra.ExchangeRefused):
        return Problem(502, "Entra ID refused the on-behalf-of exchange", str(exc))
    retry = exc.retry_after if isinstance(exc, entra.EntraUnavailable) else 5
    return Problem(503, "Entra ID unavailable", "Entra ID could not be reached; retry later.", retry_after=retry)


DEADLINE_PASSED = Problem(503, "Took too long", "The request could not be completed in time; it is safe to retry.",
                          retry_after=5)
