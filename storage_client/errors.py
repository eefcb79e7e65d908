"""Typed errors of the storage client, by how the caller reacts; only the standard library.

Messages carry operation names, status codes and error codes only: never a key, a SAS token
or an entity's contents, because they end up in problem details and logs.
"""

from __future__ import annotations

DEFAULT_RETRY_AFTER = 5.0
MAX_RETRY_AFTER = 30.0


def bounded_retry_after(seconds: float | None) -> float:
    """A ``Retry-After`` for a storage outage: 5 s when unknown, else what storage asked within [5, 30] s.

    Under 5 s a caller's retry mostly meets the same outage; over 30 s a webhook sender may give up.
    """
    if seconds is None:
        return DEFAULT_RETRY_AFTER
    try:
        value = float(seconds)
    except (TypeError, ValueError, OverflowError):
        return DEFAULT_RETRY_AFTER
    if value != value:  # NaN
        return DEFAULT_RETRY_AFTER
    return min(max(DEFAULT_RETRY_AFTER, value), MAX_RETRY_AFTER)


class StorageError(Exception):
    """The storage account answered something the caller cannot use (the base of the others)."""

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class StorageUnavailable(StorageError):
    """Unreachable, timed out, 5xx or busy even after the short retries: retry later."""

    def __init__(
        self, message: str, *, status: int | None = None, code: str | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(message, status=status, code=code)
        self.retry_after = bounded_retry_after(retry_after)


class StorageRefused(StorageUnavailable):
    """401/403: the key, SAS or identity is not accepted (wrong key, expired SAS, missing role).

    An outage for the caller (retrying later helps once an operator fixes the grant), with a
    longer ``Retry-After``.
    """

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None) -> None:
        super().__init__(message, status=status, code=code, retry_after=MAX_RETRY_AFTER)


class StorageMisconfigured(StorageUnavailable):
    """Storage answers, but not usably: the setting points at the wrong account or endpoint (docs/storage.md).

    A 404 that means the account or endpoint is wrong, or a 400 that means the request itself cannot be
    served (a malformed URL, an unsupported version). An outage for the caller, as retrying helps only
    once an operator fixes ``AzureWebJobsStorage``: ``Retry-After`` is the longest, like refused credentials.
    """

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None) -> None:
        super().__init__(message, status=status, code=code, retry_after=MAX_RETRY_AFTER)


class AlreadyExists(StorageError):
    """An insert found an entity with the same key (409)."""


class ChangedSinceRead(StorageError):
    """An ETag-guarded update found the entity changed since it was read (412): re-read and decide again."""


class LeaseTaken(StorageError):
    """Another holder has the blob's lease (409 LeaseAlreadyPresent)."""


class LeaseLost(StorageError):
    """A held lease may have lapsed (renewals failed or came late) or storage gave it to another holder:
    the holder must stop writing what the lease protects (``Lease.ensure_valid``)."""
