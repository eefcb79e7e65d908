"""App settings, validated in one place, from the mapping the entry layer reads.

``load_settings`` checks every setting and reports all problems at once, each naming the
setting, so an operator fixes a misconfiguration in one round. Nothing here ever echoes a
secret's value.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from integration.redirect_template import url_problem
from storage_client.connection import StorageConnection, StorageSettingError, storage_connection

SESSION_PLACEHOLDER = "{sessionId}"
_LOGICAL_NAME = re.compile(r"^[a-z][a-z0-9_]{0,49}$")
_SOURCE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$")


@dataclass(frozen=True)
class SettingProblem:
    name: str
    message: str

    def __str__(self) -> str:
        return f"{self.name}: {self.message}"


class SettingsError(Exception):
    """One or more settings are missing or malformed."""

    def __init__(self, problems: list[SettingProblem]):
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems))


DEFAULT_ENTRA_AUTHORITY = "https://login.microsoftonline.com"
DEFAULT_SESSION_API_SCOPE = "Booking.Start"
_SCOPE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,99}$")
MAX_AUDIENCES = 10
STORAGE_SETTING = "AzureWebJobsStorage"


@dataclass(frozen=True)
class EntraSettings:
    """``SESSION_AUTH=entra``: whose tokens the session routes accept, and how the app acts as the user."""

    tenant_id: str
    authority: str
    """Authority host without a trailing slash, e.g. ``https://login.microsoftonline.com``."""
    audiences: tuple[str, ...]
    scope: str
    client_id: str
    client_secret: str | None

    @property
    def tenant_authority(self) -> str:
        return f"{self.authority}/{self.tenant_id}"

    @property
    def issuer(self) -> str:
        return f"{self.tenant_authority}/v2.0"

    @property
    def jwks_url(self) -> str:
        return f"{self.tenant_authority}/discovery/v2.0/keys"

    def __repr__(self) -> str:  # never print the secret
        return (
            f"EntraSettings(tenant_id={self.tenant_id!r}, authority={self.authority!r}, audiences={self.audiences!r}, "
            f"scope={self.scope!r}, client_id={self.client_id!r}, client_secret={'set' if self.client_secret else None})"
        )


@dataclass(frozen=True)
class Settings:
    dataverse_url: str
    dataverse_auth: Literal["azure", "none"]
    booking_api_url: str
    booking_api_key: str | None
    booking_redirect_url: str
    booking_webhook_secrets: tuple[str, ...]
    booking_source: str
    appointment_version_column: str | None
    session_auth: Literal["key", "entra"] = "key"
    entra: EntraSettings | None = None
    """Set exactly when ``session_auth`` is ``entra``."""
    storage: StorageConnection | None = None
    """The app's storage account (``AzureWebJobsStorage``); ``None`` turns webhook delivery records and import jobs off."""

    def __repr__(self) -> str:  # never print secrets, even by accident
        storage = None if self.storage is None else self.storage.describe()
        return (
            f"Settings(dataverse_url={self.dataverse_url!r}, dataverse_auth={self.dataverse_auth!r}, "
            f"booking_api_url={self.booking_api_url!r}, booking_source={self.booking_source!r}, "
            f"appointment_version_column={self.appointment_version_column!r}, session_auth={self.session_auth!r}, "
            f"storage={storage!r})"
        )


def is_loopback_url(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def load_settings(environ: Mapping[str, str]) -> Settings:
    """Validate all settings of ``environ`` (the composition root passes the app settings);
    raise :class:`SettingsError` listing every problem."""
    problems: list[SettingProblem] = []

    def get(name: str) -> str | None:
        value = environ.get(name, "").strip()
        return value or None

    def required(name: str) -> str:
        value = get(name)
        if value is None:
            problems.append(SettingProblem(name, "is required but not set"))
            return ""
        return value

    dataverse_url = required("DATAVERSE_URL").rstrip("/")
    if dataverse_url:
        _check_dataverse_url(dataverse_url, problems)

    auth = (get("DATAVERSE_AUTH") or "azure").lower()
    if auth not in ("azure", "none"):
        problems.append(SettingProblem("DATAVERSE_AUTH", "must be 'azure' or 'none'"))
    elif auth == "none" and dataverse_url and not is_loopback_url(dataverse_url):
        problems.append(
            SettingProblem("DATAVERSE_AUTH", "'none' is accepted only when DATAVERSE_URL is a loopback address")
        )

    booking_api_url = required("BOOKING_API_URL").rstrip("/")
    if booking_api_url:
        _check_http_url("BOOKING_API_URL", booking_api_url, problems)

    redirect = required("BOOKING_REDIRECT_URL")
    if redirect:
        _check_redirect_template(redirect, problems)

    secrets = _parse_webhook_secrets(required("BOOKING_WEBHOOK_SECRET"), problems)

    source = get("BOOKING_SOURCE") or "booking"
    if not _SOURCE_NAME.match(source):
        problems.append(
            SettingProblem("BOOKING_SOURCE", "must be 1-32 letters, digits, '.', '_' or '-', starting with a letter or digit")
        )

    version_column = get("APPOINTMENT_VERSION_COLUMN")
    if version_column is not None and not _LOGICAL_NAME.match(version_column):
        problems.append(
            SettingProblem("APPOINTMENT_VERSION_COLUMN", "must be a column logical name such as 'new_bookingversion'")
        )

    session_auth = (get("SESSION_AUTH") or "key").lower()
    entra = None
    if session_auth not in ("key", "entra"):
        problems.append(SettingProblem("SESSION_AUTH", "must be 'key' or 'entra'"))
    elif session_auth == "entra":
        entra = _entra_settings(get, required, problems)

    storage = None
    try:
        storage = storage_connection(environ, STORAGE_SETTING)
    except StorageSettingError as problem:  # its message names what is wrong, never a value
        problems.append(SettingProblem(STORAGE_SETTING, str(problem)))

    if problems:
        raise SettingsError(problems)
    return Settings(
        dataverse_url=dataverse_url,
        dataverse_auth=auth,  # type: ignore[arg-type]
        booking_api_url=booking_api_url,
        booking_api_key=get("BOOKING_API_KEY"),
        booking_redirect_url=redirect,
        booking_webhook_secrets=secrets,
        booking_source=source,
        appointment_version_column=version_column,
        session_auth=session_auth,  # type: ignore[arg-type]
        entra=entra,
        storage=storage,
    )


def _entra_settings(
    get: Callable[[str], str | None], required: Callable[[str], str], problems: list[SettingProblem]
) -> EntraSettings:
    tenant_id = _guid("ENTRA_TENANT_ID", required("ENTRA_TENANT_ID"), problems)
    client_id = _guid("ENTRA_CLIENT_ID", required("ENTRA_CLIENT_ID"), problems)

    authority = (get("ENTRA_AUTHORITY") or DEFAULT_ENTRA_AUTHORITY).rstrip("/")
    try:
        parts = urlsplit(authority)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number in range
        valid = parts.scheme == "https" and bool(parts.hostname)
        valid = valid and not (parts.query or parts.fragment or parts.username or parts.password or "\\" in authority)
    except ValueError:
        valid = False
    if not valid:
        problems.append(SettingProblem("ENTRA_AUTHORITY", "must be an https URL such as https://login.microsoftonline.com"))

    audiences = tuple(dict.fromkeys(required("SESSION_API_AUDIENCE").split()))
    if len(audiences) > MAX_AUDIENCES or any(len(a) > 200 or not a.isprintable() for a in audiences):
        problems.append(SettingProblem(
            "SESSION_API_AUDIENCE", f"must be at most {MAX_AUDIENCES} application ID URIs or client ids, separated by spaces"
        ))

    scope = get("SESSION_API_SCOPE") or DEFAULT_SESSION_API_SCOPE
    if not _SCOPE_NAME.match(scope):
        problems.append(SettingProblem("SESSION_API_SCOPE", "must be one scope name such as 'Booking.Start'"))

    return EntraSettings(
        tenant_id=tenant_id, authority=authority, audiences=audiences, scope=scope,
        client_id=client_id, client_secret=get("ENTRA_CLIENT_SECRET"),
    )


def _guid(name: str, value: str, problems: list[SettingProblem]) -> str:
    if not value:
        return ""  # already reported as missing
    try:
        return str(uuid.UUID(value))
    except ValueError:
        problems.append(SettingProblem(name, "must be a GUID"))
        return ""


def _check_http_url(name: str, url: str, problems: list[SettingProblem]) -> bool:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number in range
    except ValueError:  # an unclosed '[' or a bad port: urlsplit raises instead of answering
        problems.append(SettingProblem(name, "must be an absolute http(s) URL"))
        return False
    if parts.scheme not in ("http", "https") or not parts.hostname:
        problems.append(SettingProblem(name, "must be an absolute http(s) URL"))
        return False
    if parts.scheme == "http" and not is_loopback_url(url):
        problems.append(SettingProblem(name, "must use https unless it points at a loopback address"))
        return False
    return True


def _check_dataverse_url(url: str, problems: list[SettingProblem]) -> None:
    if not _check_http_url("DATAVERSE_URL", url, problems):
        return
    parts = urlsplit(url)
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        problems.append(
            SettingProblem("DATAVERSE_URL", "must be the environment URL only, e.g. https://contoso.crm.dynamics.com (no /api/... path)")
        )


def _check_redirect_template(template: str, problems: list[SettingProblem]) -> None:
    name = "BOOKING_REDIRECT_URL"
    if SESSION_PLACEHOLDER not in template:
        problems.append(SettingProblem(name, f"must contain the placeholder {SESSION_PLACEHOLDER}"))
        return
    probe = template.replace(SESSION_PLACEHOLDER, "x")
    unclear = url_problem(probe)
    if unclear is not None:  # a browser might read it differently from us: another host, a header split
        problems.append(SettingProblem(name, unclear))
        return
    if not _check_http_url(name, probe, problems):
        return
    # The placeholder may only stand in the path, query or fragment: never in the scheme or host.
    head_end = template.find("/", template.find("//") + 2) if "//" in template else -1
    head = template if head_end == -1 else template[:head_end]
    if SESSION_PLACEHOLDER in head:
        problems.append(SettingProblem(name, f"{SESSION_PLACEHOLDER} must not be part of the scheme or host"))


def _parse_webhook_secrets(raw: str, problems: list[SettingProblem]) -> tuple[str, ...]:
    if not raw:
        return ()
    secrets = tuple(raw.split())
    for index, secret in enumerate(secrets, start=1):
        if not secret.startswith("whsec_"):
            problems.append(SettingProblem("BOOKING_WEBHOOK_SECRET", f"secret #{index} must start with 'whsec_'"))
            continue
        try:
            key = base64.b64decode(secret[len("whsec_"):], validate=True)
        except (binascii.Error, ValueError):
            problems.append(SettingProblem("BOOKING_WEBHOOK_SECRET", f"secret #{index} is not valid base64 after 'whsec_'"))
            continue
        if len(key) < 16:
            problems.append(SettingProblem("BOOKING_WEBHOOK_SECRET", f"secret #{index} is shorter than 16 bytes"))
    return secrets
