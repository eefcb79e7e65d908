"""``IdentityStandIn``: the Entra ID stand-in as one object tests start, steer and stop.

Served over https by uvicorn on 127.0.0.1 in a background thread, with a CA generated at start.
"""

from __future__ import annotations

import math
import secrets
import shutil
import tempfile
from pathlib import Path
from types import TracebackType
from typing import Any

from tools.local_tls import TlsFiles, generate
from tools.loopback_server import LoopbackServer

from .directory import (
    AZURE_STORAGE_APP_ID,
    AZURE_STORAGE_RESOURCE,
    App,
    FederatedCredential,
    ManagedIdentity,
    User,
    new_id,
)
from .issuer import PUBLIC, Caller
from .state import Fault, IdentityState, RequestRecord


class IdentityStandIn:
    """See docs/identity-stand-in.md. ``start()`` returns once the https socket is listening."""

    def __init__(self, *, tenant_id: str | None = None, token_lifetime: int = 3600, port: int = 0,
                 cert_dir: str | Path | None = None, system_assigned_identity: bool = True) -> None:
        self.state = IdentityState(tenant_id or new_id(), token_lifetime)
        self._default_lifetime = token_lifetime
        self._requested_port = port
        self._cert_dir = Path(cert_dir) if cert_dir else None
        self._own_cert_dir: Path | None = None
        self._tls: TlsFiles | None = None
        self._server: LoopbackServer | None = None
        self.port = 0
        self.system_identity = (
            self.state.directory.add_managed_identity(system_assigned=True) if system_assigned_identity else None
        )

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> "IdentityStandIn":
        if self._server is not None:
            raise RuntimeError("the identity stand-in is already running")
        if self._cert_dir is None:
            self._own_cert_dir = Path(tempfile.mkdtemp(prefix="identity-stand-in-"))
        self._tls = generate(self._cert_dir or self._own_cert_dir, ca_name="Identity stand-in local CA (development only)")
        from .http_app import build_app

        server = LoopbackServer(build_app(self), port=self._requested_port, name="identity-stand-in",
                                ssl_certfile=str(self._tls.cert_path), ssl_keyfile=str(self._tls.key_path))
        self._server = server.start()
        self.port = server.port
        self.state.issuer.base_url = self.url  # known once the port is
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.stop()
        if self._own_cert_dir is not None:
            shutil.rmtree(self._own_cert_dir, ignore_errors=True)
            self._own_cert_dir = None

    def __enter__(self) -> "IdentityStandIn":
        return self.start() if self._server is None else self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    # -- addresses ---------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The authority host, e.g. ``https://127.0.0.1:PORT`` (``AZURE_AUTHORITY_HOST``)."""
        if not self.port:
            raise RuntimeError("the identity stand-in is not running; call start() first")
        return f"https://127.0.0.1:{self.port}"

    @property
    def ca_path(self) -> str:
        """The CA certificate (PEM) to trust: ``SSL_CERT_FILE`` / ``REQUESTS_CA_BUNDLE``."""
        if self._tls is None:
            raise RuntimeError("the identity stand-in is not running; call start() first")
        return str(self._tls.ca_path)

    @property
    def tenant_id(self) -> str:
        return self.state.directory.home_tenant_id

    def authority(self, tenant_id: str | None = None) -> str:
        return f"{self.url}/{tenant_id or self.tenant_id}"

    def issuer(self, tenant_id: str | None = None) -> str:
        return self.state.issuer.issuer_v2(tenant_id or self.tenant_id)

    def jwks_url(self, tenant_id: str | None = None) -> str:
        return f"{self.authority(tenant_id)}/discovery/v2.0/keys"

    def token_url(self, tenant_id: str | None = None) -> str:
        return f"{self.authority(tenant_id)}/oauth2/v2.0/token"

    @property
    def identity_endpoint(self) -> str:
        """``IDENTITY_ENDPOINT`` as App Service sets it for the app."""
        return f"{self.url}/msi/token"

    @property
    def identity_header(self) -> str:
        """``IDENTITY_HEADER``: the value the managed-identity endpoint requires in ``X-IDENTITY-HEADER``."""
        return self.state.identity_header

    def rotate_identity_header(self) -> str:
        self.state.identity_header = secrets.token_urlsafe(24)
        return self.state.identity_header

    # -- directory ---------------------------------------------------------------------------

    def add_tenant(self, tenant_id: str | None = None, domain: str | None = None) -> str:
        with self.state.lock:
            return self.state.directory.add_tenant(tenant_id, domain).tenant_id

    def add_user(self, username: str, name: str, **options: Any) -> User:
        with self.state.lock:
            return self.state.directory.add_user(username, name, **options)

    def add_app(self, name: str, **settings: Any) -> App:
        """An app registration; ``App.add_secret()`` returns a new client secret."""
        with self.state.lock:
            return self.state.directory.add_app(name, **settings)

    def add_azure_storage(self) -> App:
        """Azure Storage as Entra ID knows it (idempotent): app id ``e406a681-...``, resource
        ``https://storage.azure.com``, v1.0 tokens whose ``iss`` is Entra ID's public
        ``https://sts.windows.net/{tid}/`` (``public_v1_issuer``), so a storage emulator that checks the
        issuer against Entra ID's (Azurite's ``--oauth basic``) accepts them. Home tenant only."""
        with self.state.lock:
            found = self.state.directory.apps.get(AZURE_STORAGE_APP_ID)
            if found is not None:
                return found
            return self.state.directory.add_app(
                "Azure Storage", client_id=AZURE_STORAGE_APP_ID, identifier_uris=[AZURE_STORAGE_RESOURCE],
                scopes=["user_impersonation"], access_token_version=1, public_v1_issuer=True,
            )

    def add_managed_identity(self, **options: Any) -> ManagedIdentity:
        """A user-assigned managed identity (``system_assigned=True`` for the app's own)."""
        with self.state.lock:
            return self.state.directory.add_managed_identity(**options)

    def add_federated_credential(self, app: App, issuer: str, subject: str,
                                 audiences: list[str] | None = None) -> FederatedCredential:
        credential = FederatedCredential(issuer, subject, audiences or ["api://AzureADTokenExchange"])
        with self.state.lock:
            app.federated_credentials.append(credential)
        return credential

    def trust_managed_identity(self, app: App, identity: ManagedIdentity) -> FederatedCredential:
        """The federated credential that lets ``identity``'s token-exchange token act as ``app``'s assertion."""
        return self.add_federated_credential(app, self.issuer(identity.tenant_id), identity.principal_id)

    # -- keys, time, lifetime, faults --------------------------------------------------------

    def rotate_keys(self, overlap: float = 3600.0) -> str:
        """A new signing key; the old one stays in the JWKS for ``overlap`` seconds (0: removed now)."""
        if not (math.isfinite(overlap) and 0 <= overlap <= 30 * 86400):
            raise ValueError("overlap must be 0..30 days in seconds")
        with self.state.lock:
            return self.state.keys.rotate(self.state.clock.now(), overlap).kid

    def published_kids(self) -> list[str]:
        with self.state.lock:
            return [k.kid for k in self.state.keys.published(self.state.clock.now())]

    @property
    def signing_kid(self) -> str:
        return self.state.keys.active.kid

    @property
    def token_lifetime(self) -> int:
        return self.state.issuer.lifetime

    @token_lifetime.setter
    def token_lifetime(self, seconds: int) -> None:
        if not 1 <= seconds <= 86400:
            raise ValueError("token lifetime must be 1..86400 seconds")
        self.state.issuer.lifetime = seconds

    @property
    def clock_offset(self) -> float:
        """Seconds added to the stand-in's clock (issued iat/nbf/exp and every expiry check)."""
        return self.state.clock.offset

    @clock_offset.setter
    def clock_offset(self, seconds: float) -> None:
        if not (math.isfinite(seconds) and abs(seconds) <= 10 * 365 * 86400):
            raise ValueError("clock offset beyond ten years")
        self.state.clock.offset = float(seconds)

    def fail_next(self, count: int, *, status: int = 503, retry_after: int | None = None) -> None:
        """The next ``count`` token and managed-identity requests answer ``status`` (e.g. 503, 429)."""
        if not 0 <= count <= 10000 or not 400 <= status <= 599 or not 0 <= (retry_after or 0) <= 3600:
            raise ValueError("count 0..10000, a 4xx/5xx status and retry_after 0..3600 seconds")
        with self.state.lock:
            self.state.faults.extend(Fault(status, retry_after) for _ in range(count))

    # -- observation -------------------------------------------------------------------------

    @property
    def token_requests(self) -> list[RequestRecord]:
        """Every token, managed-identity and authorize request, oldest first."""
        with self.state.lock:
            return list(self.state.log)

    @property
    def keys_served(self) -> int:
        """How many JWKS (``/discovery/v2.0/keys``) answers were served since the last reset."""
        return self.state.keys_served

    def count(self, *, endpoint: str | None = None, grant_type: str | None = None, client_id: str | None = None,
              status: int | None = None) -> int:
        return sum(
            1 for r in self.token_requests
            if (endpoint is None or r.endpoint == endpoint) and (grant_type is None or r.grant_type == grant_type)
            and (client_id is None or r.client_id == client_id) and (status is None or r.status == status)
        )

    def reset(self) -> None:
        """Forget the request log, faults, codes, refresh tokens, sign-ins and user consents; lifetime and
        clock back to the defaults. Tenants, users, apps, identities and keys stay."""
        with self.state.lock:
            self.state.log.clear()
            self.state.keys_served = 0
            self.state.faults.clear()
            self.state.codes.clear()
            self.state.refresh_tokens.clear()
            self.state.sessions.clear()
            self.state.consents.clear()
            self.state.clock.offset = 0.0
            self.state.issuer.lifetime = self._default_lifetime

    def describe(self) -> dict[str, Any]:
        with self.state.lock:
            directory = self.state.directory
            return {
                "url": self.url, "ca_path": self.ca_path, "tenant_id": self.tenant_id,
                "tenants": {t.tenant_id: {"domains": t.domains, "users": [u.public() for u in t.users.values()]}
                            for t in directory.tenants.values()},
                "apps": [a.public() for a in directory.apps.values()],
                "managed_identities": [m.public() for m in directory.managed_identities],
                "identity_endpoint": self.identity_endpoint, "identity_header": self.identity_header,
                "published_kids": self.published_kids(),
                "token_lifetime": self.token_lifetime, "clock_offset": self.clock_offset,
                "requests": len(self.state.log),
            }

    # -- direct minting (tests of token consumers) -------------------------------------------

    def mint_user_token(self, user: str | User, resource: str, scopes: list[str], *, client_id: str | None = None,
                        tenant_id: str | None = None, lifetime: int | None = None,
                        extra_claims: dict[str, Any] | None = None) -> str:
        """A delegated access token as the token endpoint would issue it, without a sign-in.

        ``resource`` is the API's identifier URI or client id; ``client_id`` the calling app
        (``azp``, default: a public client). Not an Entra ID feature: a shortcut for tests.
        """
        with self.state.lock:
            tid = tenant_id or (user.tenant_id if isinstance(user, User) else self.tenant_id)
            found = user if isinstance(user, User) else self.state.directory.user(tid, user)
            if found is None:
                raise ValueError("unknown user")
            api = self.state.directory.resource(found.tenant_id, resource)
            if api is None:
                raise ValueError("unknown resource")
            caller = Caller(client_id or new_id(), PUBLIC, "", found.tenant_id)
            token, _ = self.state.issuer.access_token(api, resource, caller, user=found, scopes=scopes,
                                                      lifetime=lifetime, extra=extra_claims)
            return token
