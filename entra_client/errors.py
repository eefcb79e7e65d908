"""Errors of the Entra ID client: the caller's token is refused, or Entra ID cannot be reached.

Messages never contain a token or a claim value that identifies a person.
"""

from __future__ import annotations


class EntraError(Exception):
    """Base class."""


class InvalidToken(EntraError):
    """Missing, malformed, expired, not yet valid, wrongly signed or foreign token (RFC 6750 ``invalid_token``)."""


class InsufficientScope(EntraError):
    """A valid token that does not carry the required delegated scope (RFC 6750 ``insufficient_scope``)."""

    def __init__(self, message: str, scope: str):
        super().__init__(message)
        self.scope = scope


class ExchangeRefused(EntraError):
    """Entra ID refused the on-behalf-of exchange for this user (``error`` is its OAuth error code).

    ``interaction_required`` carries the ``claims`` challenge the caller must satisfy interactively.
    """

    def __init__(self, message: str, error: str | None, claims: str | None = None):
        super().__init__(message)
        self.error = error
        self.claims = claims


class EntraUnavailable(EntraError):
    """Entra ID (its keys or its token endpoint) did not answer usefully; retry later."""

    def __init__(self, message: str, retry_after: float = 5.0):
        super().__init__(message)
        self.retry_after = retry_after
