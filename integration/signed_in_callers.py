"""``SESSION_AUTH=entra``: who is calling, and a Dataverse client that acts as them.

The HTTP layer passes the request's ``Authorization`` header; the caller's token is
validated (:mod:`entra_client.access_tokens`) before anything else happens, so a refused
token costs no Dataverse or booking request. The returned client carries the user's
on-behalf-of token (exchanged on its first request, then cached per user), so Dataverse's
record-level security decides what the user may read. Errors are the Entra ID client's own
(``entra_client.errors``); ``entry.problems`` answers them (401/403 with ``WWW-Authenticate``,
502, 503).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dataverse import DataverseClient
    from entra_client.access_tokens import AccessTokenValidator
    from entra_client.on_behalf_of import OnBehalfOf


@dataclass(frozen=True)
class EntraClients:
    """What entra mode needs, built by the composition root from ``Settings.entra``."""

    validator: AccessTokenValidator
    exchange: OnBehalfOf


async def dataverse_as_caller(dataverse: DataverseClient, entra: EntraClients, authorization: str | None) -> DataverseClient:
    """The caller's token validated (or :class:`~entra_client.errors.InvalidToken` /
    :class:`~entra_client.errors.InsufficientScope`), and ``dataverse`` acting as that user."""
    from entra_client.on_behalf_of import UserTokens

    caller = await entra.validator.validate(authorization)
    return dataverse.acting_as(UserTokens(entra.exchange, caller))
