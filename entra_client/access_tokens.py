"""Validate a caller's Entra ID v2.0 access token with PyJWT.

Every check is explicit: the header must say RS256 (``none``, HS256, and HS256 "signed" with
the public key are refused before any key is looked up), the signature must verify with a key
of the tenant's JWKS, ``iss`` must be ``{authority}/{tenant}/v2.0``, ``tid`` the tenant,
``aud`` one of the accepted audiences, ``exp``/``nbf`` honoured with at most five minutes of
skew, and ``scp`` must contain the required scope (an app-only token has none).

The JWKS is cached: it is read again every hour, and at most once per
``unknown_kid_interval`` when a token names a ``kid`` the cache does not hold (Entra ID rolls
its keys without notice, so a new ``kid`` is accepted without a restart, while a stream of
forged ``kid`` values costs Entra ID one request per interval). When a refresh fails the keys
already known keep working. PyJWT and cryptography are imported on first use.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import re
import time
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from entra_client.errors import EntraUnavailable, InsufficientScope, InvalidToken

log = logging.getLogger("entra_client")

ALGORITHM = "RS256"
MAX_SKEW_SECONDS = 300
"""Clock skew allowed on ``exp`` and ``nbf`` (five minutes)."""
KEYS_MAX_AGE = 3600.0
"""Seconds after which the JWKS is read again, even without an unknown ``kid``."""
UNKNOWN_KID_INTERVAL = 60.0
"""At most one refresh for an unknown ``kid`` per this many seconds."""
FAILED_READ_PAUSE = 10.0
"""After a failed read with no keys at all, requests answer 503 for this long without asking again."""
MAX_TOKEN_LENGTH = 16 * 1024
MAX_JWKS_BYTES = 256 * 1024
MAX_KEYS = 64
MAX_SESSION_SECONDS = 24 * 3600
_BEARER = re.compile(r"^[Bb][Ee][Aa][Rr][Ee][Rr] +([A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]*)\s*$")
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


@dataclass(frozen=True)
class Caller:
    """The signed-in user a valid token speaks for."""

    tenant_id: str
    object_id: str
    token: str = field(repr=False)
    """The caller's access token, the assertion of the on-behalf-of exchange (never logged)."""
    expires_at: float

    @property
    def cache_key(self) -> str:
        """``oid`` + ``tid``: stable for a user across apps, so one exchanged token serves all their requests."""
        return f"{self.object_id}.{self.tenant_id}"


class AccessTokenValidator:
    """Checks ``Authorization: Bearer`` headers against one tenant's keys and one API's audiences and scope.

    ``verify`` is httpx's: ``True`` (the default trust store; httpx honours ``SSL_CERT_FILE`` /
    ``SSL_CERT_DIR``, else certifi's bundle) or an ``ssl.SSLContext``.
    """

    def __init__(
        self,
        *,
        tenant_id: str,
        issuer: str,
        jwks_url: str,
        audiences: Iterable[str],
        scope: str,
        verify: Any = True,
        timeout: float = 5.0,
        unknown_kid_interval: float = UNKNOWN_KID_INTERVAL,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.tenant_id = tenant_id.lower()
        self.issuer = issuer
        self.jwks_url = jwks_url
        self.audiences = tuple(audiences)
        self.scope = scope
        self._verify = verify
        self._timeout = timeout
        self._unknown_kid_interval = unknown_kid_interval
        self._clock = clock
        self._keys: dict[str, Any] = {}
        self._read_at = -math.inf
        self._last_unknown_kid_refresh = -math.inf
        self._failed_at = -math.inf
        self._locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = weakref.WeakKeyDictionary()

    async def validate(self, authorization: str | None) -> Caller:
        """The caller of a valid token; :class:`InvalidToken` / :class:`InsufficientScope` otherwise."""
        import jwt

        token = _bearer_token(authorization)
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise InvalidToken("The token is not a JWS.") from None
        if header.get("alg") != ALGORITHM:
            raise InvalidToken("The token is not signed with RS256.")
        kid = header.get("kid")
        if not isinstance(kid, str) or not 0 < len(kid) <= 200:
            raise InvalidToken("The token names no signing key.")
        key = await self._key(kid)
        if key is None:
            raise InvalidToken("The token is signed with a key the tenant does not publish.")
        try:
            claims = jwt.decode(
                token, key, algorithms=[ALGORITHM], audience=list(self.audiences), issuer=self.issuer,
                leeway=MAX_SKEW_SECONDS, options={"require": ["exp", "nbf", "iss", "aud", "tid", "oid"]},
            )
        except jwt.ExpiredSignatureError:
            raise InvalidToken("The token has expired.") from None
        except jwt.ImmatureSignatureError:
            raise InvalidToken("The token is not valid yet.") from None
        except jwt.InvalidAudienceError:
            raise InvalidToken("The token is for another audience.") from None
        except jwt.InvalidIssuerError:
            raise InvalidToken("The token is from another issuer.") from None
        except jwt.PyJWTError as exc:
            raise InvalidToken(f"The token is invalid ({type(exc).__name__}).") from None
        tid, oid = claims.get("tid"), claims.get("oid")
        if not isinstance(tid, str) or tid.lower() != self.tenant_id:
            raise InvalidToken("The token is from another tenant.")
        if not isinstance(oid, str) or not _GUID.match(oid):
            raise InvalidToken("The token names no user object id.")
        scopes = claims.get("scp")
        if not isinstance(scopes, str) or self.scope not in scopes.split(" "):
            raise InsufficientScope("The token does not carry the required delegated scope.", self.scope)
        now = self._clock()
        expires_at = min(float(claims["exp"]), now + MAX_SESSION_SECONDS)
        return Caller(tenant_id=tid.lower(), object_id=oid.lower(), token=token, expires_at=expires_at)

    # -- keys ------------------------------------------------------------------------------------

    async def _key(self, kid: str) -> Any:
        now = self._clock()
        if kid in self._keys and now - self._read_at < KEYS_MAX_AGE:
            return self._keys[kid]
        loop = asyncio.get_running_loop()
        lock = self._locks.setdefault(loop, asyncio.Lock())
        async with lock:
            now = self._clock()
            if kid in self._keys and now - self._read_at < KEYS_MAX_AGE:
                return self._keys[kid]  # another request refreshed while this one waited
            if not self._keys and now - self._failed_at < FAILED_READ_PAUSE:
                raise EntraUnavailable("The tenant's signing keys could not be read.",
                                       retry_after=FAILED_READ_PAUSE - (now - self._failed_at))
            if not self._keys or now - self._read_at >= KEYS_MAX_AGE:
                await self._refresh(keep_on_failure=bool(self._keys))
            elif kid not in self._keys and now - self._last_unknown_kid_refresh >= self._unknown_kid_interval:
                self._last_unknown_kid_refresh = now
                log.info("unknown signing key id; reading the tenant's keys again")
                await self._refresh(keep_on_failure=True)
            return self._keys.get(kid)

    async def _refresh(self, *, keep_on_failure: bool) -> None:
        try:
            self._keys = await self._read_keys()
            self._read_at = self._clock()
        except EntraUnavailable:
            self._failed_at = self._clock()
            if not keep_on_failure:
                raise
            log.warning("reading the tenant's signing keys failed; the known keys stay in use")

    async def _read_keys(self) -> dict[str, Any]:
        import httpx
        from jwt import PyJWK, PyJWTError

        try:
            async with (
                httpx.AsyncClient(verify=self._verify, timeout=self._timeout, follow_redirects=False) as http,
                http.stream("GET", self.jwks_url, headers={"Accept": "application/json"}) as response,
            ):
                body = b""
                async for chunk in response.aiter_bytes():
                    body += chunk
                    if len(body) > MAX_JWKS_BYTES:
                        raise EntraUnavailable("The tenant's key set is too large.")
        except httpx.HTTPError as exc:
            raise EntraUnavailable(f"The tenant's signing keys could not be read ({type(exc).__name__}).") from None
        if response.status_code != 200:
            raise EntraUnavailable(f"The tenant's key set answered {response.status_code}.")
        try:
            document = json.loads(body)
        except ValueError:
            raise EntraUnavailable("The tenant's key set is not JSON.") from None
        entries = document.get("keys") if isinstance(document, dict) else None
        if not isinstance(entries, list):
            raise EntraUnavailable("The tenant's key set has no keys.")
        keys: dict[str, Any] = {}
        for entry in entries[:MAX_KEYS]:
            if not isinstance(entry, dict) or entry.get("kty") != "RSA" or entry.get("use", "sig") != "sig":
                continue
            kid = entry.get("kid")
            if not isinstance(kid, str) or not kid:
                continue
            try:
                keys[kid] = PyJWK({k: v for k, v in entry.items() if k != "alg"}, algorithm=ALGORITHM).key
            except (PyJWTError, ValueError, TypeError):  # PyJWKError, InvalidKeyError, bad base64
                continue
        if not keys:
            raise EntraUnavailable("The tenant's key set holds no usable RSA signing key.")
        return keys


def _bearer_token(authorization: str | None) -> str:
    if not authorization:
        raise InvalidToken("The request carries no access token.")
    if len(authorization) > MAX_TOKEN_LENGTH:
        raise InvalidToken("The access token is too long.")
    match = _BEARER.match(authorization)
    if match is None:
        raise InvalidToken("The Authorization header is not a bearer token.")
    return match.group(1)
