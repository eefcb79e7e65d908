"""Bearer tokens as Dataverse checks them (``--auth entra``): RS256 signatures against the tenant's
published keys, issuer, audience = the environment URL, lifetime.

The keys come from the authority's OpenID configuration (``jwks_uri``), fetched over https with
the authority's CA; they are kept per ``kid`` and fetched again only for a ``kid`` not seen yet
(at most once per ``UNKNOWN_KID_RETRY`` seconds for the same ``kid``). PyJWT does the JOSE work.
A token that passed is remembered (up to ``MAX_ACCEPTED``) so that its next uses only re-check
its lifetime and that its key is still published, instead of the RSA signature.
See docs/emulator.md#tokens-and-record-level-security.
"""

from __future__ import annotations

import json
import ssl
import threading
import time
import urllib.request
from collections.abc import Iterable
from typing import Any

import jwt

ALGORITHMS = ["RS256"]
CLOCK_SKEW = 300  # seconds of leeway on exp/nbf, as Microsoft's token validation defaults to
UNKNOWN_KID_RETRY = 60.0
MAX_UNKNOWN_KIDS = 256
MAX_DOCUMENT = 1_000_000  # bytes read from discovery or JWKS
FETCH_TIMEOUT = 10.0
MAX_TOKEN = 16_384  # characters of a bearer token
MAX_ACCEPTED = 1024  # validated tokens remembered


class TokenRejected(Exception):
    """401: the request carries no usable token (the message is safe to answer and log)."""


class KeysUnavailable(Exception):
    """The authority's discovery document or keys could not be read."""


class TokenValidator:
    """Validates access tokens issued by one Entra ID tenant (`authority` = instance/tenant)."""

    def __init__(self, authority: str, ca_path: str | None = None, *, leeway: float = CLOCK_SKEW) -> None:
        self.authority = authority.rstrip("/")
        self.leeway = leeway
        self._ca_path = ca_path
        self._context: ssl.SSLContext | None = None
        self._lock = threading.Lock()
        self._keys: dict[str, Any] = {}  # kid -> public key object
        self._issuers: tuple[str, ...] = ()
        self._jwks_uri: str | None = None
        self._unknown: dict[str, float] = {}  # kid -> when a refresh last failed to find it
        self._accepted: dict[tuple[str, tuple[str, ...]], tuple[dict[str, Any], str]] = {}  # -> claims, kid
        self.key_fetches = 0  # JWKS downloads, for tests and the benchmark

    @property
    def authorization_uri(self) -> str:
        return f"{self.authority}/oauth2/authorize"

    def validate(self, authorization: str | None, audiences: Iterable[str]) -> dict[str, Any]:
        """The claims of a valid `Authorization: Bearer` token; TokenRejected otherwise."""
        token = _bearer(authorization)
        wanted = tuple(audiences)
        remembered = self._accepted.get((token, wanted))
        if remembered is not None:
            claims, kid = remembered
            now = time.time()
            if kid in self._keys and claims["nbf"] - self.leeway <= now <= claims["exp"] + self.leeway:
                return claims
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise TokenRejected("The access token is malformed.") from None
        if header.get("alg") not in ALGORITHMS:
            raise TokenRejected("The access token is not signed with RS256.")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid or len(kid) > 256:
            raise TokenRejected("The access token names no signing key.")
        key = self._key(kid)
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=ALGORITHMS,
                audience=list(wanted),
                issuer=self._issuers,
                leeway=self.leeway,
                options={"require": ["exp", "nbf", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError:
            raise TokenRejected("The access token has expired.") from None
        except jwt.ImmatureSignatureError:
            raise TokenRejected("The access token is not yet valid.") from None
        except jwt.InvalidAudienceError:
            raise TokenRejected("The access token was issued for another audience.") from None
        except jwt.InvalidIssuerError:
            raise TokenRejected("The access token was issued by another tenant or authority.") from None
        except jwt.InvalidSignatureError:
            raise TokenRejected("The access token's signature is invalid.") from None
        except jwt.PyJWTError as error:
            raise TokenRejected(f"The access token is invalid ({type(error).__name__}).") from None
        if not isinstance(claims.get("nbf"), (int, float)) or not isinstance(claims.get("exp"), (int, float)):
            raise TokenRejected("The access token's lifetime is not numeric.")
        if len(self._accepted) >= MAX_ACCEPTED:
            self._accepted.clear()
        self._accepted[(token, wanted)] = (claims, kid)
        return claims

    # -- keys
    def _key(self, kid: str) -> Any:
        with self._lock:
            key = self._keys.get(kid)
            if key is not None:
                return key
            now = time.monotonic()
            missed = self._unknown.get(kid)
            if missed is not None and now - missed < UNKNOWN_KID_RETRY:
                raise TokenRejected("The access token is signed with an unknown key.")
            self._refresh()
            key = self._keys.get(kid)
            if key is None:
                if len(self._unknown) >= MAX_UNKNOWN_KIDS:
                    self._unknown.clear()
                self._unknown[kid] = now
                raise TokenRejected("The access token is signed with an unknown key.")
            return key

    def _refresh(self) -> None:
        if self._jwks_uri is None:
            configuration = self._get(f"{self.authority}/v2.0/.well-known/openid-configuration")
            issuer, jwks_uri = configuration.get("issuer"), configuration.get("jwks_uri")
            if not isinstance(issuer, str) or not isinstance(jwks_uri, str) or not jwks_uri.startswith("https://"):
                raise KeysUnavailable("the OpenID configuration has no issuer or https jwks_uri")
            # v2.0 tokens carry the configuration's issuer; v1.0 tokens (what Dataverse is issued)
            # the same without "v2.0" (the stand-in's form of https://sts.windows.net/{tid}/).
            v1 = issuer[: -len("v2.0")] if issuer.endswith("/v2.0") else issuer
            self._issuers = (issuer, v1)
            self._jwks_uri = jwks_uri
        document = self._get(self._jwks_uri)
        keys = document.get("keys")
        if not isinstance(keys, list):
            raise KeysUnavailable("the JWKS has no keys")
        fresh: dict[str, Any] = {}
        for entry in keys[:100]:
            if not isinstance(entry, dict) or entry.get("kty") != "RSA" or entry.get("use", "sig") != "sig":
                continue
            kid = entry.get("kid")
            if not isinstance(kid, str):
                continue
            try:
                fresh[kid] = jwt.PyJWK(entry, "RS256").key
            except jwt.PyJWTError:
                continue
        self._keys = fresh
        self.key_fetches += 1

    def _get(self, url: str) -> dict[str, Any]:
        if self._context is None:
            self._context = ssl.create_default_context(cafile=self._ca_path)
        try:
            with urllib.request.urlopen(url, timeout=FETCH_TIMEOUT, context=self._context) as answer:
                data = json.loads(answer.read(MAX_DOCUMENT + 1)[:MAX_DOCUMENT])
        except (OSError, ValueError) as error:
            raise KeysUnavailable(f"{type(error).__name__} reading the authority's keys") from None
        if not isinstance(data, dict):
            raise KeysUnavailable("the authority answered something other than a JSON object")
        return data


def _bearer(authorization: str | None) -> str:
    if not authorization:
        raise TokenRejected("The request has no bearer token.")
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise TokenRejected("The Authorization header is not a bearer token.")
    if len(token) > MAX_TOKEN:
        raise TokenRejected("The access token is too long.")
    return token
