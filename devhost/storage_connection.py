"""Which storage account a queue trigger's ``connection`` names, resolved from the app settings.

As the host does (Microsoft Learn, "Azure Queue storage trigger for Azure Functions",
Connections): ``connection`` names an app setting; an empty one means
``AzureWebJobsStorage``; the setting ``AzureWebJobs<name>`` is looked up first, then
``<name>``: the first one set, by a value or by ``__*`` settings, is the connection. A value
is a connection string, used as is (it wins over the same name's ``__*`` settings).
Otherwise the ``<name>__*`` settings make an identity-based connection:

- the queue service: ``<name>__queueServiceUri`` (or its alias ``<name>__serviceUri``), or
  ``<name>__accountName`` for an account in global Azure
  (``https://<account>.queue.core.windows.net``);
- the credential: with ``<name>__credential=managedidentity`` the app's managed identity
  only (``<name>__clientId``: a user-assigned one), read by azure-identity from the
  environment (``IDENTITY_ENDPOINT``/``IDENTITY_HEADER`` on App Service and its local
  stand-in); without it, azure-identity's default chain (environment, managed identity, the
  developer's Azure CLI sign-in...), as the host uses the developer's identity locally.

Settings the devhost does not support (a client secret or certificate, ``tenantId``,
``managedIdentityResourceId``) make the function's connection an error that names them.
``__blobServiceUri``/``__tableServiceUri`` are not the queue trigger's and are ignored. A
CA bundle in ``SSL_CERT_FILE`` (or ``REQUESTS_CA_BUNDLE``) is what the queue and token
requests trust, so a local https emulator works. Errors never show a setting's value.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

DEFAULT_CONNECTION = "AzureWebJobsStorage"
PREFIX = "AzureWebJobs"
MANAGED_IDENTITY = "managedidentity"
# Identity settings of the host the devhost does not implement (lower case, as matched).
UNSUPPORTED = ("clientsecret", "certificate", "tenantid", "managedidentityresourceid", "azurefederatedtokenfile")


class ConnectionSettingError(ValueError):
    """The trigger's connection cannot be used by the devhost; the message names the setting."""


@dataclass(frozen=True)
class QueueConnection:
    """A queue trigger's storage: a connection string, or a queue service URL and how to get tokens for it."""

    setting: str
    connection_string: str | None = field(default=None, repr=False)
    queue_service_uri: str | None = None
    managed_identity: bool = False
    """``__credential=managedidentity``: the managed identity only, not azure-identity's default chain."""
    client_id: str | None = None
    ca_bundle: str | None = None

    @property
    def uses_identity(self) -> bool:
        return self.connection_string is None

    def describe(self) -> str:
        """Safe to log: the kind of connection, never a key."""
        if not self.uses_identity:
            return "connection string"
        return f"identity ({'managed identity' if self.managed_identity else 'default credential chain'})"

    def credential(self) -> Any:
        """A new async token credential for an identity-based connection (the caller closes it); None otherwise."""
        if not self.uses_identity:
            return None
        transport: dict[str, Any] = {"connection_verify": self.ca_bundle} if self.ca_bundle else {}
        if self.managed_identity:
            from azure.identity.aio import ManagedIdentityCredential

            return ManagedIdentityCredential(client_id=self.client_id, **transport)
        from azure.identity.aio import DefaultAzureCredential

        return DefaultAzureCredential(managed_identity_client_id=self.client_id, **transport)

    def queue_client(self, queue_name: str, credential: Any, **options: Any) -> Any:
        """An async ``QueueClient``; ``credential``: from :meth:`credential` (shared by a listener's clients)."""
        from azure.storage.queue.aio import QueueClient

        if self.ca_bundle and "transport" not in options:
            # One SSL context for every request: given the bundle as connection_verify, azure-core would
            # load the file, and aiohttp open a new connection, for every poll. Built after the settings
            # are checked, holding no session until the first request; the timeouts are the SDK's own.
            options["transport"] = _context_transport(
                self.ca_bundle, connection_timeout=options.get("connection_timeout", 20),
                read_timeout=options.get("read_timeout", 60))
        if self.connection_string is not None:
            return QueueClient.from_connection_string(self.connection_string, queue_name, **options)
        return QueueClient(self.queue_service_uri or "", queue_name, credential=credential, **options)


def _context_transport(ca_bundle: str, **timeouts: float) -> Any:
    """azure-core's aiohttp transport (its own lazily opened session) with one SSL context trusting ``ca_bundle``."""
    import ssl

    from azure.core.pipeline.transport import AioHttpTransport

    context = ssl.create_default_context(cafile=ca_bundle)

    class ContextTransport(AioHttpTransport):  # type: ignore[misc]
        def _build_ssl_config(self, cert: Any, verify: Any) -> Any:
            return context

    return ContextTransport(**timeouts)


def _candidates(connection: str) -> list[str]:
    name = connection.strip() or DEFAULT_CONNECTION
    return [name] if name.startswith(PREFIX) else [PREFIX + name, name]


def queue_connection(connection: str, environ: Mapping[str, str] | None = None) -> QueueConnection:
    """The connection a queue trigger's ``connection`` names; :class:`ConnectionSettingError` when unusable."""
    env = os.environ if environ is None else environ
    ca_bundle = (env.get("SSL_CERT_FILE") or env.get("REQUESTS_CA_BUNDLE") or "").strip() or None
    candidates = _candidates(connection)
    for candidate in candidates:  # the first that is set, by a value or by __* settings, as in the host
        value = env.get(candidate, "").strip()
        if value:
            if "=" not in value:
                raise ConnectionSettingError(f"setting {candidate} is not a storage connection string "
                                             "(expected key=value pairs such as UseDevelopmentStorage=true)")
            return QueueConnection(candidate, connection_string=value, ca_bundle=ca_bundle)
        prefix = candidate + "__"
        parts = {key[len(prefix):].lower(): (val or "").strip() for key, val in env.items()
                 if key.startswith(prefix) and (val or "").strip()}
        if parts:
            return _identity_connection(candidate, parts, ca_bundle)
    raise ConnectionSettingError(f"storage connection {' or '.join(candidates)} is not set "
                                 "(a connection string, or identity-based settings such as "
                                 f"{candidates[-1]}__queueServiceUri)")


HOST_STORAGE = "AzureWebJobsStorage"


def _identity_connection(setting: str, parts: Mapping[str, str], ca_bundle: str | None) -> QueueConnection:
    unsupported = [name for name in UNSUPPORTED if name in parts]
    if unsupported:
        raise ConnectionSettingError(
            f"setting {setting}__{unsupported[0]}: the devhost supports identity-based connections with "
            "queueServiceUri (or serviceUri, or accountName), credential=managedidentity and clientId only")
    credential = parts.get("credential", "").lower()
    if credential and credential != MANAGED_IDENTITY:
        raise ConnectionSettingError(f"setting {setting}__credential must be 'managedidentity' when it is set")
    uri_setting = next((name for name in ("queueserviceuri", "serviceuri") if name in parts), None)
    if uri_setting is not None:
        uri = parts[uri_setting]
        label = f"{setting}__{'queueServiceUri' if uri_setting == 'queueserviceuri' else 'serviceUri'}"
        try:
            split = urlsplit(uri)
        except ValueError:
            split = None
        if split is None or split.scheme not in ("http", "https") or not split.hostname:
            raise ConnectionSettingError(f"setting {label} must be the queue service's absolute https URL")
        if split.query or split.username or split.password:
            raise ConnectionSettingError(f"setting {label} must not carry a query (a SAS) or credentials")
    elif "accountname" in parts and setting == HOST_STORAGE:
        # the account-name form is the host storage connection's alone (Microsoft Learn, app settings reference)
        uri = f"https://{parts['accountname']}.queue.core.windows.net"
    else:
        also = f", or {setting}__accountName" if setting == HOST_STORAGE else ""
        raise ConnectionSettingError(
            f"setting {setting}: an identity-based queue connection needs {setting}__queueServiceUri "
            f"(or {setting}__serviceUri{also}; __accountName serves {HOST_STORAGE} only)")
    return QueueConnection(setting, queue_service_uri=uri.rstrip("/"), managed_identity=credential == MANAGED_IDENTITY,
                           client_id=parts.get("clientid") or None, ca_bundle=ca_bundle)
