"""Mints access tokens, ID tokens and ``client_info`` with the claims Entra ID puts in them."""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from dataclasses import dataclass
from typing import Any

from .directory import App, ManagedIdentity, User
from .jws import b64url, sign_rs256
from .signing_keys import SigningKeys

PUBLIC_V1_ISSUER = "https://sts.windows.net/{tenant_id}/"
"""Entra ID's issuer of v1.0 access tokens (global cloud), for resources registered with ``public_v1_issuer``."""

# How the client proved itself (azpacr / appidacr): 0 public, 1 secret, 2 certificate or assertion.
PUBLIC, SECRET, ASSERTION = "0", "1", "2"


@dataclass
class Clock:
    offset: float = 0.0

    def now(self) -> float:
        return time.time() + self.offset


@dataclass
class Caller:
    """Who a token is issued to: the client app (or managed identity) and how it authenticated."""

    client_id: str
    acr: str
    object_id: str  # the service principal / managed identity object id
    tenant_id: str
    mi_resource_id: str | None = None


def caller_for_app(app: App, acr: str) -> Caller:
    return Caller(app.client_id, acr, app.object_id, app.tenant_id)


def caller_for_managed_identity(mi: ManagedIdentity) -> Caller:
    return Caller(mi.client_id, ASSERTION, mi.principal_id, mi.tenant_id, mi.resource_id)


def pairwise_subject(oid: str, client_id: str) -> str:
    """``sub`` differs per app for the same user, as Entra ID's does."""
    return b64url(hashlib.sha256(f"{oid}:{client_id}".encode()).digest())


class Issuer:
    def __init__(self, keys: SigningKeys, clock: Clock, lifetime: int = 3600) -> None:
        self.keys = keys
        self.clock = clock
        self.lifetime = lifetime
        self.base_url = ""

    def issuer_v2(self, tenant_id: str) -> str:
        return f"{self.base_url}/{tenant_id}/v2.0"

    def issuer_v1(self, tenant_id: str, *, public: bool = False) -> str:
        """The stand-in's own v1 issuer, or (``public``) the one Entra ID writes: ``https://sts.windows.net/{tid}/``."""
        return PUBLIC_V1_ISSUER.format(tenant_id=tenant_id) if public else f"{self.base_url}/{tenant_id}/"

    def _sign(self, claims: dict[str, Any], *, v1: bool = False) -> str:
        key = self.keys.active
        header = {"kid": key.kid, **({"x5t": key.kid} if v1 else {})}
        return sign_rs256(header, claims, key.private_key)

    def access_token(
        self,
        resource: App,
        requested: str,
        caller: Caller,
        *,
        user: User | None = None,
        scopes: list[str] | None = None,
        roles: list[str] | None = None,
        lifetime: int | None = None,
        extra: dict[str, Any] | None = None,
    ) -> tuple[str, int]:
        """``(jwt, expires_in)``; ``requested`` is the resource as the client named it (v1 ``aud``)."""
        now = int(self.clock.now())
        expires_in = self.lifetime if lifetime is None else lifetime
        v1 = resource.access_token_version == 1
        tenant_id = user.tenant_id if user else caller.tenant_id
        claims: dict[str, Any] = {
            "aud": resource.audience or (requested.rstrip("/") if v1 else resource.client_id),
            "iss": self.issuer_v1(tenant_id, public=resource.public_v1_issuer) if v1 else self.issuer_v2(tenant_id),
            "iat": now,
            "nbf": now,
            "exp": now + expires_in,
            "tid": tenant_id,
            "uti": secrets.token_urlsafe(16),
            "ver": "1.0" if v1 else "2.0",
        }
        if v1:
            claims.update(appid=caller.client_id, appidacr=caller.acr)
        else:
            claims.update(azp=caller.client_id, azpacr=caller.acr)
        if user is not None:
            claims.update(
                oid=user.oid, sub=pairwise_subject(user.oid, resource.client_id), name=user.name,
                scp=" ".join(scopes or []),
            )
            claims["upn" if v1 else "preferred_username"] = user.username
            if v1:
                claims["unique_name"] = user.username
        else:
            claims.update(oid=caller.object_id, sub=caller.object_id, idtyp="app")
            if roles:
                claims["roles"] = list(roles)
            if caller.mi_resource_id:
                claims["xms_mirid"] = caller.mi_resource_id
        claims.update(extra or {})
        return self._sign(claims, v1=v1), expires_in

    def id_token(self, client_id: str, user: User, nonce: str | None) -> str:
        now = int(self.clock.now())
        claims: dict[str, Any] = {
            "aud": client_id,
            "iss": self.issuer_v2(user.tenant_id),
            "iat": now,
            "nbf": now,
            "exp": now + 3600,
            "name": user.name,
            "oid": user.oid,
            "preferred_username": user.username,
            "sub": pairwise_subject(user.oid, client_id),
            "tid": user.tenant_id,
            "ver": "2.0",
        }
        if nonce:
            claims["nonce"] = nonce
        return self._sign(claims)


def client_info(user: User) -> str:
    """What msal turns into the home account id ``uid.utid``."""
    return b64url(json.dumps({"uid": user.oid, "utid": user.tenant_id}).encode())
