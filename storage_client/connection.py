"""Where the app's storage account is and how to authenticate to it, from the app settings.

Pure: only the standard library, no SDK. :func:`storage_connection` reads the setting
``AzureWebJobsStorage`` (or another name) the way the Functions host reads it:

- a **connection string**: ``UseDevelopmentStorage=true`` (Azurite on 127.0.0.1, ports
  10000-10002), ``AccountName=...;AccountKey=...`` (endpoints from ``EndpointSuffix``, default
  ``core.windows.net``), explicit ``BlobEndpoint``/``QueueEndpoint``/``TableEndpoint``, or a
  ``SharedAccessSignature`` instead of the key;
- **identity-based**: ``<name>__accountName`` (global Azure:
  ``https://{account}.{blob|queue|table}.core.windows.net``) or the three
  ``<name>__blobServiceUri`` / ``__queueServiceUri`` / ``__tableServiceUri``, authenticated
  with the app's managed identity (``__credential=managedidentity``, ``__clientId`` for a
  user-assigned one).

A connection string set in ``<name>`` itself wins over ``<name>__*`` settings, as in the host.
Problems raise :class:`StorageSettingError`, whose message names what is wrong and never
contains a value of the setting (the key, a SAS token, or a URL that may carry one).
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

SERVICES = ("blob", "queue", "table")
DEFAULT_ENDPOINT_SUFFIX = "core.windows.net"
DEVELOPMENT_ACCOUNT = "devstoreaccount1"
# Azurite's published development key: the same in every copy of Azurite, not a secret.
DEVELOPMENT_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
DEVELOPMENT_PORTS = {"blob": 10000, "queue": 10001, "table": 10002}
_ACCOUNT_NAME = re.compile(r"^[a-z0-9]{3,24}$")
_SUFFIX = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$")
MAX_SETTING_LENGTH = 4096


class StorageSettingError(ValueError):
    """The storage setting is malformed; the message says what is wrong, never a value."""


@dataclass(frozen=True)
class StorageConnection:
    """The account's three service URLs and how to authenticate (key/SAS connection string or identity)."""

    blob_url: str
    queue_url: str
    table_url: str
    connection_string: str | None = field(default=None, repr=False)
    """A normalized connection string with explicit endpoints, for key or SAS connections; ``None`` for identity."""
    managed_identity_client_id: str | None = None
    """Identity-based: the client id of a user-assigned managed identity (``__clientId``)."""
    account: str = ""
    """The account name (from the setting or the URLs), for health and logs."""
    managed_identity: bool = False
    """Identity-based with ``__credential=managedidentity``: only the managed identity is tried."""

    @property
    def uses_identity(self) -> bool:
        return self.connection_string is None

    def describe(self) -> dict[str, Any]:
        """Safe to show (health): the kind of connection and the account name, never a key or token."""
        return {"kind": "identity" if self.uses_identity else "connection string", "account": self.account}


def storage_connection(environ: Mapping[str, str], name: str = "AzureWebJobsStorage") -> StorageConnection | None:
    """The connection configured under ``name``; ``None`` when neither ``name`` nor any ``name__*`` is set."""
    value = (environ.get(name) or "").strip()
    if value:
        return _from_connection_string(value)
    prefix = f"{name}__"
    parts = {key[len(prefix):].lower(): (val or "").strip() for key, val in environ.items()
             if key.startswith(prefix) and (val or "").strip()}
    if not parts:
        return None
    return _from_identity_settings(parts, prefix)


def _from_connection_string(value: str) -> StorageConnection:
    if len(value) > MAX_SETTING_LENGTH:
        raise StorageSettingError(f"is longer than {MAX_SETTING_LENGTH} characters")
    pairs: dict[str, str] = {}
    for segment in value.split(";"):
        segment = segment.strip()
        if not segment:
            continue
        key, sep, val = segment.partition("=")
        key = key.strip()
        if not sep or not key:
            raise StorageSettingError(
                "is not a connection string of Name=value pairs separated by ';' "
                "(e.g. UseDevelopmentStorage=true or AccountName=...;AccountKey=...)"
            )
        if key.lower() in pairs:
            raise StorageSettingError(f"sets {key} twice")
        pairs[key.lower()] = val.strip()

    if "usedevelopmentstorage" in pairs:
        return _development_storage(pairs)

    protocol = pairs.get("defaultendpointsprotocol", "https").lower()
    if protocol not in ("http", "https"):
        raise StorageSettingError("DefaultEndpointsProtocol must be http or https")
    account = pairs.get("accountname", "")
    key = pairs.get("accountkey", "")
    sas = pairs.get("sharedaccesssignature", "").lstrip("?")
    if key and sas:
        raise StorageSettingError("sets both AccountKey and SharedAccessSignature; use one")
    if not key and not sas:
        raise StorageSettingError(
            "has neither AccountKey nor SharedAccessSignature (for the app's managed identity, "
            "use AzureWebJobsStorage__accountName instead of a connection string)"
        )
    if key:
        _check_base64_key(key)
        if not account:
            raise StorageSettingError("has an AccountKey but no AccountName")
    if account and not _ACCOUNT_NAME.match(account):
        raise StorageSettingError("AccountName must be 3-24 lowercase letters and digits")
    suffix = pairs.get("endpointsuffix", DEFAULT_ENDPOINT_SUFFIX).lower().strip(".")
    if not _SUFFIX.match(suffix):
        raise StorageSettingError("EndpointSuffix must be a DNS suffix such as core.windows.net")

    urls: dict[str, str] = {}
    for service in SERVICES:
        explicit = pairs.get(f"{service}endpoint", "")
        if explicit:
            urls[service] = _service_url(f"{service.capitalize()}Endpoint", explicit)
        elif account:
            urls[service] = _service_url("DefaultEndpointsProtocol", f"{protocol}://{account}.{service}.{suffix}")
        else:
            raise StorageSettingError(
                f"has no AccountName and no {service.capitalize()}Endpoint: the app needs the blob, queue and table endpoints"
            )
    account = account or _account_from_url(urls["blob"])
    credential = f"AccountKey={key}" if key else f"SharedAccessSignature={sas}"
    normalized = (
        f"AccountName={account};{credential};"
        f"BlobEndpoint={urls['blob']};QueueEndpoint={urls['queue']};TableEndpoint={urls['table']}"
    ) if key else (
        f"{credential};BlobEndpoint={urls['blob']};QueueEndpoint={urls['queue']};TableEndpoint={urls['table']}"
    )
    return StorageConnection(urls["blob"], urls["queue"], urls["table"], normalized, account=account)


def _development_storage(pairs: Mapping[str, str]) -> StorageConnection:
    if pairs["usedevelopmentstorage"].lower() != "true":
        raise StorageSettingError("UseDevelopmentStorage must be 'true' when it is set")
    if set(pairs) - {"usedevelopmentstorage"}:
        raise StorageSettingError(
            "UseDevelopmentStorage=true stands alone; for Azurite on other ports give the "
            "account, key and endpoints explicitly"
        )
    urls = {s: f"http://127.0.0.1:{port}/{DEVELOPMENT_ACCOUNT}" for s, port in DEVELOPMENT_PORTS.items()}
    normalized = (
        f"AccountName={DEVELOPMENT_ACCOUNT};AccountKey={DEVELOPMENT_KEY};"
        f"BlobEndpoint={urls['blob']};QueueEndpoint={urls['queue']};TableEndpoint={urls['table']}"
    )
    return StorageConnection(urls["blob"], urls["queue"], urls["table"], normalized, account=DEVELOPMENT_ACCOUNT)


def _from_identity_settings(parts: Mapping[str, str], prefix: str) -> StorageConnection:
    known = {"accountname", "blobserviceuri", "queueserviceuri", "tableserviceuri", "credential", "clientid"}
    unknown = sorted(set(parts) - known)
    if unknown:
        raise StorageSettingError(
            f"{prefix}{unknown[0]} is not a setting the app reads (accountName, blobServiceUri, queueServiceUri, "
            "tableServiceUri, credential, clientId)"
        )
    credential = parts.get("credential", "").lower()
    if credential and credential != "managedidentity":
        raise StorageSettingError(f"{prefix}credential must be 'managedidentity' when it is set")
    client_id = parts.get("clientid") or None
    if client_id is not None:
        try:
            client_id = str(uuid.UUID(client_id))
        except ValueError:
            raise StorageSettingError(f"{prefix}clientId must be the GUID of a user-assigned managed identity") from None

    account = parts.get("accountname", "")
    if account and not _ACCOUNT_NAME.match(account):
        raise StorageSettingError(f"{prefix}accountName must be 3-24 lowercase letters and digits")
    urls: dict[str, str] = {}
    missing = []
    for service in SERVICES:
        uri = parts.get(f"{service}serviceuri", "")
        if uri:
            urls[service] = _service_url(f"{prefix}{service}ServiceUri", uri)
        elif account:
            urls[service] = f"https://{account}.{service}.{DEFAULT_ENDPOINT_SUFFIX}"
        else:
            missing.append(f"{prefix}{service}ServiceUri")
    if missing:
        raise StorageSettingError(
            f"identity-based storage needs {prefix}accountName or all three service URIs; missing {', '.join(missing)}"
        )
    return StorageConnection(
        urls["blob"], urls["queue"], urls["table"], None, managed_identity_client_id=client_id,
        account=account or _account_from_url(urls["blob"]), managed_identity=credential == "managedidentity",
    )


def _check_base64_key(key: str) -> None:
    try:
        decoded = base64.b64decode(key, validate=True)
    except (binascii.Error, ValueError):
        raise StorageSettingError("AccountKey is not valid base64") from None
    if not decoded:
        raise StorageSettingError("AccountKey is empty")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _service_url(what: str, url: str) -> str:
    """``url`` checked (absolute http(s), https unless loopback, no query or credentials) without a trailing slash."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number in range
    except ValueError:
        raise StorageSettingError(f"{what} must be an absolute http(s) URL") from None
    if parts.scheme not in ("http", "https") or not parts.hostname or "\\" in url or any(c.isspace() for c in url):
        raise StorageSettingError(f"{what} must be an absolute http(s) URL")
    if parts.username or parts.password or parts.query or parts.fragment:
        raise StorageSettingError(f"{what} must not carry credentials, a query or a fragment (put a SAS in SharedAccessSignature)")
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        raise StorageSettingError(f"{what} must use https unless it points at a loopback address")
    return url.rstrip("/")


def _account_from_url(url: str) -> str:
    """The account name in a service URL: the first path segment for a loopback (Azurite) URL, else the host's first label."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if _is_loopback(host):
        segment = parts.path.strip("/").split("/", 1)[0]
        return segment
    return host.split(".", 1)[0]

