"""The composition root: settings and clients are built here, and only here.

``function_app.py`` (through ``http_api``), the schedule command and the benchmarks each
make one :class:`CompositionRoot` and ask it for the :class:`~integration.dependencies.Dependencies`
of a flow; flows take them as an argument and never read the environment.

Two lifetimes are kept explicit:

- **Settings** are read and validated from the settings mapping (``os.environ`` by
  default, as app settings reach a Functions app) at every call, so an invalid setting is
  reported by each request (and by ``/api/health``) instead of once at start-up.
- **Clients** pool connections, and an ``httpx.AsyncClient`` is bound to the event loop it
  first ran on. The Functions worker runs every ``async def`` invocation on its one loop, so
  in Azure there is one Dataverse and one booking client per process; tests and the dev host
  start new loops, so clients are kept per loop (a loop that ends takes its clients with it)
  and per the settings that shape them (a changed URL or key gets a fresh client).

Only the standard library is imported at load time: ``function_app.py`` builds the root
while the host indexes the app, so the flows' modules load on the first request.
"""

from __future__ import annotations

import asyncio
import logging
import os
import weakref
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from booking_client import BookingClient
    from dataverse import DataverseClient
    from integration.dependencies import Dependencies
    from integration.settings import Settings
    from integration.signed_in_callers import EntraClients
    from storage_client import StorageAccount

# httpx logs every request URL at INFO; OData filters in those URLs can hold customer emails.
for _name in ("httpx", "httpcore"):
    logging.getLogger(_name).setLevel(logging.WARNING)


class CompositionRoot:
    """Builds the flows' dependencies from a settings mapping.

    ``dataverse_options`` and ``booking_options`` are passed to the clients' constructors
    (a timeout, a retry policy, a transport): the production defaults are the clients' own,
    tests pass shorter ones instead of patching. ``entra_options`` go to the token validator
    (``verify``: an ``ssl.SSLContext`` trusting a local identity stand-in; ``unknown_kid_interval``).
    ``storage_options`` go to :class:`~storage_client.StorageAccount` (``timeout``, ``credential``); a CA bundle
    in ``SSL_CERT_FILE`` or ``REQUESTS_CA_BUNDLE`` becomes its ``connection_verify`` (storage and token requests).
    """

    def __init__(
        self,
        environ: Mapping[str, str] | None = None,
        *,
        dataverse_options: Mapping[str, Any] | None = None,
        booking_options: Mapping[str, Any] | None = None,
        entra_options: Mapping[str, Any] | None = None,
        storage_options: Mapping[str, Any] | None = None,
    ) -> None:
        self._environ = environ
        self._dataverse_options = dict(dataverse_options or {})
        self._booking_options = dict(booking_options or {})
        self._entra_options = dict(entra_options or {})
        self._storage_options = dict(storage_options or {})
        self._entra: dict[tuple[Any, ...], EntraClients] = {}
        self._clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[tuple[Any, ...], Any]] = (
            weakref.WeakKeyDictionary()
        )

    def session_auth(self) -> str:
        """``entra`` or ``key``: how the session routes are registered, read when the app is indexed.

        Anything but ``entra`` registers the routes behind a function key (an unknown value is
        also reported by every request and by ``/api/health``), so a typo never opens them.
        """
        environ = os.environ if self._environ is None else self._environ
        return "entra" if environ.get("SESSION_AUTH", "").strip().lower() == "entra" else "key"

    def storage_configured(self) -> bool:
        """Is ``AzureWebJobsStorage`` (or any ``AzureWebJobsStorage__*``) set? Read when the app is indexed.

        Decides whether the storage-backed background functions are registered; whether the
        setting is valid is reported by every request and by ``/api/health``.
        """
        from storage_client.connection import storage_connection

        environ = os.environ if self._environ is None else self._environ
        try:
            return storage_connection(environ) is not None
        except ValueError:  # malformed, but set
            return True

    def settings(self) -> Settings:
        """The settings as they are now; :class:`~integration.settings.SettingsError` lists every problem."""
        from integration.settings import load_settings

        return load_settings(os.environ if self._environ is None else self._environ)

    def dependencies(self) -> Dependencies:
        """Settings plus the clients for them on the running event loop (call it inside a coroutine)."""
        from integration.dependencies import Dependencies

        settings = self.settings()
        return Dependencies(
            settings, self._dataverse_client(settings), self._booking_client(settings), self._entra_clients(settings),
            self.storage(settings),
        )

    def storage(self, settings: Settings) -> StorageAccount | None:
        """The storage account of ``settings`` on the running event loop; ``None`` without ``AzureWebJobsStorage``."""
        connection = settings.storage
        if connection is None:
            return None
        environ = os.environ if self._environ is None else self._environ
        if connection.uses_identity and connection.managed_identity_client_id is None:
            client_id = environ.get("AZURE_CLIENT_ID") or None  # the app's user-assigned identity, as for Dataverse
            if client_id:
                import dataclasses

                connection = dataclasses.replace(connection, managed_identity_client_id=client_id)
        # A private CA (Azurite over https, a local identity stand-in), as for the Entra clients: aiohttp (the
        # storage SDK's and the token credential's transport) reads SSL_CERT_FILE only when it is first imported
        # and never REQUESTS_CA_BUNDLE, so the bundle is passed to the storage clients explicitly.
        ca_bundle = environ.get("SSL_CERT_FILE") or environ.get("REQUESTS_CA_BUNDLE") or None
        options = dict(self._storage_options)
        if ca_bundle:
            client_options = dict(options.get("client_options") or {})
            client_options.setdefault("connection_verify", ca_bundle)
            options["client_options"] = client_options

        def build() -> "StorageAccount":
            from storage_client import StorageAccount

            return StorageAccount(connection, **options)

        return self._on_this_loop(("storage", connection, ca_bundle), build)

    async def aclose(self) -> None:
        """Close the clients of the running loop (the command does this before it exits)."""
        clients = self._clients.pop(asyncio.get_running_loop(), {})
        for client in clients.values():
            await client.aclose()

    def _on_this_loop(self, key: tuple[Any, ...], build: Callable[[], Any]) -> Any:
        clients = self._clients.setdefault(asyncio.get_running_loop(), {})
        if key not in clients:
            clients[key] = build()
        return clients[key]

    def _dataverse_client(self, settings: Settings) -> "DataverseClient":
        def build() -> "DataverseClient":
            from dataverse import DataverseClient
            from dataverse.auth import AzureIdentityAuth

            auth = None if settings.dataverse_auth == "none" else AzureIdentityAuth(settings.dataverse_url)
            return DataverseClient(settings.dataverse_url, auth=auth, **self._dataverse_options)

        return self._on_this_loop(("dataverse", settings.dataverse_url, settings.dataverse_auth), build)

    def _entra_clients(self, settings: Settings) -> EntraClients | None:
        """Token validator and on-behalf-of exchange: process-wide (their caches outlive event loops)."""
        entra = settings.entra
        if entra is None:
            return None
        environ = os.environ if self._environ is None else self._environ
        managed_identity = environ.get("AZURE_CLIENT_ID") or None  # a user-assigned identity's client id
        # A private CA (a local identity stand-in): httpx reads SSL_CERT_FILE, requests REQUESTS_CA_BUNDLE;
        # either one set is given to both, so one variable is enough.
        ca_bundle = environ.get("SSL_CERT_FILE") or environ.get("REQUESTS_CA_BUNDLE") or None
        key = (entra, settings.dataverse_url, managed_identity, ca_bundle)
        if key not in self._entra:
            from entra_client.access_tokens import AccessTokenValidator
            from entra_client.on_behalf_of import OnBehalfOf, managed_identity_assertion
            from integration.signed_in_callers import EntraClients

            options = dict(self._entra_options)
            if ca_bundle and "verify" not in options:
                import ssl

                try:
                    options["verify"] = ssl.create_default_context(cafile=ca_bundle)
                except (OSError, ssl.SSLError):  # unreadable: httpx's own default applies (and says why)
                    pass
            validator = AccessTokenValidator(
                tenant_id=entra.tenant_id, issuer=entra.issuer, jwks_url=entra.jwks_url,
                audiences=entra.audiences, scope=entra.scope, **options,
            )
            exchange = OnBehalfOf(
                authority=entra.tenant_authority, client_id=entra.client_id,
                scope=f"{settings.dataverse_url}/user_impersonation", client_secret=entra.client_secret,
                assertion=None if entra.client_secret else managed_identity_assertion(managed_identity),
                ca_bundle=ca_bundle,
            )
            self._entra[key] = EntraClients(validator, exchange)
        return self._entra[key]

    def _booking_client(self, settings: Settings) -> "BookingClient":
        def build() -> "BookingClient":
            from booking_client import BookingClient

            return BookingClient(settings.booking_api_url, api_key=settings.booking_api_key, **self._booking_options)

        return self._on_this_loop(("booking", settings.booking_api_url, settings.booking_api_key), build)
