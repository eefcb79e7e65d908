"""Bearer tokens for Dataverse from azure-identity, cached and refreshed before they expire.

``azure.identity`` is imported on the first token, not at import time (cold start). Its
async credentials need aiohttp, which this app does not ship, so a sync credential's
``get_token`` runs in a worker thread; an async credential passed in is awaited directly.
"""

from __future__ import annotations

import asyncio
import inspect
import os
import time
from typing import Any, Protocol

REFRESH_MARGIN = 300.0
"""Seconds before expiry at which a cached token is replaced."""


class Auth(Protocol):
    async def token(self, *, force_refresh: bool = False) -> str: ...


def default_credential() -> Any:
    """ManagedIdentityCredential inside Azure (IDENTITY_ENDPOINT/MSI_ENDPOINT set), else DefaultAzureCredential.

    DefaultAzureCredential tries EnvironmentCredential first, so AZURE_TENANT_ID /
    AZURE_CLIENT_ID / AZURE_CLIENT_SECRET work locally, then a developer login.
    """
    from azure.identity import DefaultAzureCredential, ManagedIdentityCredential

    if os.environ.get("IDENTITY_ENDPOINT") or os.environ.get("MSI_ENDPOINT"):
        client_id = os.environ.get("AZURE_CLIENT_ID")
        return ManagedIdentityCredential(client_id=client_id) if client_id else ManagedIdentityCredential()
    return DefaultAzureCredential()


class AzureIdentityAuth:
    """Tokens for scope ``<environment_url>/.default``; one refresh at a time."""

    def __init__(self, environment_url: str, credential: Any = None) -> None:
        self.scope = environment_url.rstrip("/") + "/.default"
        self._credential = credential
        self._owns_credential = credential is None
        self._token: str | None = None
        self._expires_on = 0.0
        self._lock: asyncio.Lock | None = None

    def __repr__(self) -> str:
        return f"AzureIdentityAuth(scope={self.scope!r})"

    async def token(self, *, force_refresh: bool = False) -> str:
        if not force_refresh and self._fresh():
            return self._token  # type: ignore[return-value]
        if self._lock is None:
            self._lock = asyncio.Lock()
        stale = self._token
        async with self._lock:
            if self._token != stale or (not force_refresh and self._fresh()):
                return self._token  # type: ignore[return-value]
            try:
                access = await self._fetch(force_refresh)
            except Exception as exc:  # noqa: BLE001 - any credential failure means "no token now"
                from dataverse.errors import Unavailable

                raise Unavailable(f"no Dataverse token ({type(exc).__name__})", retry_after=30.0) from exc
            self._token, self._expires_on = access.token, float(access.expires_on)
            return self._token

    def _fresh(self) -> bool:
        return self._token is not None and self._expires_on - time.time() > REFRESH_MARGIN

    async def _fetch(self, force_refresh: bool) -> Any:
        if self._credential is None or (force_refresh and self._owns_credential):
            # A forced refresh follows a 401: azure-identity would hand back the refused token from
            # its own cache, so a new credential (empty cache) asks Entra ID again.
            self._credential = default_credential()
        get_token = self._credential.get_token
        if inspect.iscoroutinefunction(get_token):
            return await get_token(self.scope)
        return await asyncio.to_thread(get_token, self.scope)
