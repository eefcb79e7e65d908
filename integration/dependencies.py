"""What a flow is given: the validated settings and the clients built from them.

Every flow takes a :class:`Dependencies` as its first argument and never reads the
environment or builds a client itself. The entry layer builds them (``entry.composition_root``);
tests build them from explicit settings and clients configured for the test.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from integration.settings import Settings

if TYPE_CHECKING:
    from booking_client import BookingClient
    from dataverse import DataverseClient
    from integration.signed_in_callers import EntraClients
    from storage_client import StorageAccount


@dataclass(frozen=True)
class Dependencies:
    settings: Settings
    dataverse: "DataverseClient"
    booking: "BookingClient"
    entra: "EntraClients | None" = None
    """Token validation and on-behalf-of exchange; set when ``settings.session_auth`` is ``entra``."""
    storage: "StorageAccount | None" = None
    """The app's storage account; set exactly when ``settings.storage`` is (``AzureWebJobsStorage``)."""
