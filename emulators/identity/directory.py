"""Tenants, users, app registrations and managed identities the stand-in knows."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from .jws import b64url

OIDC_SCOPES = frozenset({"openid", "profile", "offline_access", "email"})
TOKEN_EXCHANGE_AUDIENCE = "api://AzureADTokenExchange"
# Azure Storage's first-party application in every Entra ID tenant: its app id and resource (identifier URI).
AZURE_STORAGE_APP_ID = "e406a681-f3d4-42a8-90b6-c2b029497af1"
AZURE_STORAGE_RESOURCE = "https://storage.azure.com"


def new_id() -> str:
    return str(uuid.uuid4())


@dataclass
class User:
    oid: str
    tenant_id: str
    username: str
    name: str
    requires_interaction: bool = False  # stands for MFA / Conditional Access: silent requests fail

    def public(self) -> dict[str, Any]:
        return {"oid": self.oid, "tenant_id": self.tenant_id, "username": self.username, "name": self.name,
                "requires_interaction": self.requires_interaction}


@dataclass
class ClientCertificate:
    x5t: str  # base64url SHA-1 thumbprint
    x5t_s256: str  # base64url SHA-256 thumbprint
    public_key: Any


@dataclass
class FederatedCredential:
    issuer: str
    subject: str
    audiences: list[str] = field(default_factory=lambda: [TOKEN_EXCHANGE_AUDIENCE])


@dataclass
class App:
    """An app registration and its service principal in its home tenant."""

    client_id: str
    tenant_id: str
    name: str
    object_id: str = field(default_factory=new_id)  # the service principal's object id (oid in app tokens)
    secrets: list[str] = field(default_factory=list)
    certificates: list[ClientCertificate] = field(default_factory=list)
    federated_credentials: list[FederatedCredential] = field(default_factory=list)
    public_client: bool = False  # SPA / mobile: no credential; PKCE required
    redirect_uris: list[str] = field(default_factory=list)
    identifier_uris: list[str] = field(default_factory=list)  # e.g. api://booking-api
    scopes: list[str] = field(default_factory=list)  # delegated permissions it exposes
    app_roles: list[str] = field(default_factory=list)  # application permissions it exposes
    pre_authorized: dict[str, list[str]] = field(default_factory=dict)  # client id -> scopes consented
    delegated_grants: dict[str, list[str]] = field(default_factory=dict)  # resource client id -> admin consent
    application_grants: dict[str, list[str]] = field(default_factory=dict)  # resource client id -> roles
    access_token_version: int = 2
    audience: str | None = None  # aud override (the token exchange resource uses its URI)
    public_v1_issuer: bool = False  # v1 tokens say iss https://sts.windows.net/{tid}/ (Entra ID's), not the stand-in's URL

    def add_secret(self) -> str:
        value = "stand-in~" + secrets.token_urlsafe(30)
        self.secrets.append(value)
        return value

    def add_certificate(self, certificate_pem: bytes) -> ClientCertificate:
        cert = x509.load_pem_x509_certificate(certificate_pem)
        der = cert.public_bytes(serialization.Encoding.DER)
        entry = ClientCertificate(
            x5t=b64url(hashlib.sha1(der).digest()),  # noqa: S324 - the thumbprint format, not security
            x5t_s256=b64url(hashlib.sha256(der).digest()),
            public_key=cert.public_key(),
        )
        self.certificates.append(entry)
        return entry

    def public(self) -> dict[str, Any]:
        return {
            "client_id": self.client_id, "tenant_id": self.tenant_id, "name": self.name,
            "object_id": self.object_id, "public_client": self.public_client,
            "redirect_uris": self.redirect_uris, "identifier_uris": self.identifier_uris,
            "scopes": self.scopes, "app_roles": self.app_roles, "pre_authorized": self.pre_authorized,
            "delegated_grants": self.delegated_grants, "application_grants": self.application_grants,
            "access_token_version": self.access_token_version, "public_v1_issuer": self.public_v1_issuer,
            "secrets": len(self.secrets),
            "certificates": len(self.certificates),
            "federated_credentials": [vars(f) for f in self.federated_credentials],
        }


@dataclass
class ManagedIdentity:
    client_id: str
    principal_id: str  # object id
    resource_id: str
    tenant_id: str
    system_assigned: bool = False
    application_grants: dict[str, list[str]] = field(default_factory=dict)  # resource client id -> roles

    def public(self) -> dict[str, Any]:
        return dict(vars(self))


@dataclass
class Tenant:
    tenant_id: str
    domains: list[str]
    users: dict[str, User] = field(default_factory=dict)  # by oid


class Directory:
    """Everything is looked up per tenant; apps are single-tenant (as app registrations default to)."""

    def __init__(self, home_tenant_id: str) -> None:
        self.tenants: dict[str, Tenant] = {}
        self.apps: dict[str, App] = {}
        self.managed_identities: list[ManagedIdentity] = []
        self.home_tenant_id = home_tenant_id
        self.add_tenant(home_tenant_id)
        # The app Entra ID keeps for workload identity federation (aud of managed-identity assertions).
        self.add_app(
            "AzureADTokenExchange", client_id="fb60f99c-7a34-4190-8149-302f77469936",
            identifier_uris=[TOKEN_EXCHANGE_AUDIENCE], audience=TOKEN_EXCHANGE_AUDIENCE,
        )

    def add_tenant(self, tenant_id: str | None = None, domain: str | None = None) -> Tenant:
        tid = tenant_id or new_id()
        tenant = Tenant(tid, [domain or f"tenant-{tid[:8]}.onmicrosoft.example"])
        self.tenants[tid] = tenant
        return tenant

    def tenant(self, segment: str) -> Tenant | None:
        """By id or by domain name, as the path segment of an authority may be either."""
        if segment in self.tenants:
            return self.tenants[segment]
        lowered = segment.lower()
        return next((t for t in self.tenants.values() if lowered in (d.lower() for d in t.domains)), None)

    def add_user(self, username: str, name: str, *, oid: str | None = None, tenant_id: str | None = None,
                 requires_interaction: bool = False) -> User:
        tid = tenant_id or self.home_tenant_id
        if not all(isinstance(v, str) and 0 < len(v) <= 256 for v in (username, name, oid or "x", tid)):
            raise ValueError("username, name, oid and tenant_id must be short non-empty strings")
        if tid not in self.tenants:
            raise ValueError("unknown tenant")
        user = User(oid or new_id(), tid, username, name, bool(requires_interaction))
        self.tenants[tid].users[user.oid] = user
        return user

    def user(self, tenant_id: str, key: str) -> User | None:
        users = self.tenants[tenant_id].users if tenant_id in self.tenants else {}
        if key in users:
            return users[key]
        return next((u for u in users.values() if u.username.lower() == key.lower()), None)

    def add_app(self, name: str, *, client_id: str | None = None, tenant_id: str | None = None,
                **settings: Any) -> App:
        app = App(client_id or new_id(), tenant_id or self.home_tenant_id, name, **settings)
        if app.tenant_id not in self.tenants or app.client_id in self.apps:
            raise ValueError("unknown tenant or client id already registered")
        for uri in app.identifier_uris:
            if self.resource(app.tenant_id, uri) is not None:
                raise ValueError(f"identifier URI {uri} is already used in tenant {app.tenant_id}")
        self.apps[app.client_id] = app
        return app

    def app(self, tenant_id: str, client_id: str) -> App | None:
        app = self.apps.get(client_id)
        if app is None:
            return None
        # The token exchange app exists in every tenant, as Microsoft's first-party apps do.
        return app if app.tenant_id == tenant_id or app.audience == TOKEN_EXCHANGE_AUDIENCE else None

    def resource(self, tenant_id: str, identifier: str) -> App | None:
        """The API a scope prefix or managed-identity ``resource`` names: identifier URI or client id."""
        wanted = identifier.rstrip("/")
        if not wanted:
            return None
        for app in self.apps.values():
            if app.tenant_id != tenant_id and app.audience != TOKEN_EXCHANGE_AUDIENCE:
                continue
            if wanted == app.client_id or wanted in (u.rstrip("/") for u in app.identifier_uris):
                return app
        return None

    def add_managed_identity(self, *, system_assigned: bool = False, client_id: str | None = None,
                             principal_id: str | None = None, resource_id: str | None = None,
                             application_grants: dict[str, list[str]] | None = None) -> ManagedIdentity:
        cid = client_id or new_id()
        name = "system" if system_assigned else f"uami-{cid[:8]}"
        mi = ManagedIdentity(
            client_id=cid,
            principal_id=principal_id or new_id(),
            resource_id=resource_id or (
                "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/local/providers/"
                f"Microsoft.ManagedIdentity/userAssignedIdentities/{name}"
            ),
            tenant_id=self.home_tenant_id,
            system_assigned=system_assigned,
            application_grants=dict(application_grants or {}),
        )
        self.managed_identities.append(mi)
        return mi

    def managed_identity(self, *, client_id: str | None, principal_id: str | None,
                         resource_id: str | None) -> ManagedIdentity | None:
        for mi in self.managed_identities:
            if client_id is not None:
                if mi.client_id == client_id:
                    return mi
            elif principal_id is not None:
                if mi.principal_id == principal_id:
                    return mi
            elif resource_id is not None:
                if mi.resource_id.lower() == resource_id.lower():
                    return mi
            elif mi.system_assigned:
                return mi
        return None
