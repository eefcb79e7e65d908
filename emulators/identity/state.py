"""What the stand-in remembers between requests: codes, refresh tokens, consents, sign-in sessions,
the token request log and planned faults."""

from __future__ import annotations

import secrets
import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from .directory import Directory
from .issuer import Clock, Issuer
from .signing_keys import SigningKeys

CODE_LIFETIME = 600  # seconds; Entra ID's codes last about 10 minutes
REFRESH_LIFETIME = 90 * 24 * 3600


@dataclass
class DelegatedGrant:
    """What a code or refresh token stands for: a user's consent for scopes of one resource."""

    client_id: str
    tenant_id: str
    user_oid: str
    resource_id: str  # identifier as the client named it (scope prefix)
    scopes: list[str]
    oidc: list[str]
    expires_at: float
    redirect_uri: str = ""
    code_challenge: str | None = None
    nonce: str | None = None
    used: bool = False


@dataclass
class Fault:
    status: int
    retry_after: int | None


@dataclass
class RequestRecord:
    endpoint: str  # "token" | "managed_identity" | "authorize"
    tenant: str
    grant_type: str | None
    client_id: str | None
    status: int
    error_code: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class IdentityState:
    def __init__(self, tenant_id: str, lifetime: int) -> None:
        self.lock = threading.RLock()
        self.clock = Clock()
        self.keys = SigningKeys()
        self.issuer = Issuer(self.keys, self.clock, lifetime)
        self.directory = Directory(tenant_id)
        self.codes: dict[str, DelegatedGrant] = {}
        self.refresh_tokens: dict[str, DelegatedGrant] = {}
        self.consents: set[tuple[str, str, str, str]] = set()  # (user oid, client id, resource client id, scope)
        self.sessions: dict[str, str] = {}  # sign-in cookie -> user oid
        self.faults: deque[Fault] = deque()
        self.log: list[RequestRecord] = []
        self.keys_served = 0  # JWKS answers, so tests can count a consumer's key refreshes
        self.identity_header = secrets.token_urlsafe(24)

    def new_code(self, grant: DelegatedGrant) -> str:
        code = "stand-in-code." + secrets.token_urlsafe(32)
        self.codes[code] = grant
        return code

    def new_refresh_token(self, grant: DelegatedGrant) -> str:
        token = "stand-in-rt." + secrets.token_urlsafe(48)
        self.refresh_tokens[token] = grant
        return token

    def consented(self, user_oid: str, client_id: str, resource_client_id: str) -> set[str]:
        client = self.directory.apps.get(client_id)
        resource = self.directory.apps.get(resource_client_id)
        granted = {s for (u, c, r, s) in self.consents if (u, c, r) == (user_oid, client_id, resource_client_id)}
        if client is not None:
            granted |= set(client.delegated_grants.get(resource_client_id, []))
        if resource is not None:
            granted |= set(resource.pre_authorized.get(client_id, []))
        return granted

    def take_fault(self) -> Fault | None:
        with self.lock:
            return self.faults.popleft() if self.faults else None

    def record(self, record: RequestRecord) -> None:
        with self.lock:
            self.log.append(record)
