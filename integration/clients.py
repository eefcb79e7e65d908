"""The app's connections to Dataverse and the booking API, one pool per process.

Azure Functions runs every ``async def`` invocation on the worker's single event loop, so a
pooled ``httpx.AsyncClient`` can be shared by all invocations. An ``AsyncClient`` is bound
to the loop it first ran on, so the pool is kept per loop (tests and the dev host start new
loops) and per settings (a changed setting gets a fresh client, never a stale one).
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from integration.settings import Settings

if TYPE_CHECKING:
    from booking_client import BookingClient
    from dataverse import DataverseClient

_pools: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[tuple[Any, ...], Any]]" = weakref.WeakKeyDictionary()


# httpx logs every request URL at INFO; OData filters in those URLs can hold customer emails.
for _name in ("httpx", "httpcore"):
    logging.getLogger(_name).setLevel(logging.WARNING)


def _pooled(key: tuple[Any, ...], build: Callable[[], Any]) -> Any:
    loop = asyncio.get_running_loop()
    pool = _pools.get(loop)
    if pool is None:
        pool = _pools[loop] = {}
    if key not in pool:
        pool[key] = build()
    return pool[key]


def dataverse_client(settings: Settings) -> "DataverseClient":
    def build() -> "DataverseClient":
        from dataverse import DataverseClient
        from dataverse.auth import AzureIdentityAuth

        auth = None if settings.dataverse_auth == "none" else AzureIdentityAuth(settings.dataverse_url)
        return DataverseClient(settings.dataverse_url, auth=auth)

    return _pooled(("dataverse", settings.dataverse_url, settings.dataverse_auth), build)


def booking_client(settings: Settings) -> "BookingClient":
    def build() -> "BookingClient":
        from booking_client import BookingClient

        return BookingClient(settings.booking_api_url, api_key=settings.booking_api_key)

    return _pooled(("booking", settings.booking_api_url, settings.booking_api_key), build)
