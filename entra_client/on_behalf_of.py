"""On-behalf-of: the caller's token exchanged for a Dataverse token for the same user, with msal.

One ``msal.ConfidentialClientApplication`` per app registration proves the app with its
client secret or, secretless, with a client assertion: a managed-identity token for
``api://AzureADTokenExchange`` (a federated credential on the app registration trusts that
identity). msal's ``acquire_token_on_behalf_of`` never reads its own cache, so the exchanged
tokens are kept here, per user (``oid`` + ``tid``), until shortly before they expire: repeated
requests of one user cost Entra ID one exchange. msal's own token cache stores nothing
(:class:`_NothingStored`), so memory does not grow with every user ever seen.

msal is synchronous (``requests``); exchanges run in a worker thread, and concurrent first
requests of one user share one exchange. msal, requests and azure-identity are imported on
first use. ``requests`` trusts ``REQUESTS_CA_BUNDLE`` (or certifi's bundle); ``ca_bundle``
gives msal a session trusting that file instead (the entry layer passes ``SSL_CERT_FILE`` or
``REQUESTS_CA_BUNDLE``, so either variable trusts a local identity stand-in's CA).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from entra_client.access_tokens import Caller
from entra_client.errors import EntraUnavailable, ExchangeRefused, InvalidToken

log = logging.getLogger("entra_client")

TOKEN_EXCHANGE_AUDIENCE = "api://AzureADTokenExchange/.default"
"""The managed-identity token a federated credential accepts as the app's client assertion."""
REFRESH_MARGIN = 300.0
"""Seconds before expiry at which a cached exchanged token is no longer handed out."""
MAX_LIFETIME = 24 * 3600
MAX_USERS = 10_000
UNAVAILABLE_ERRORS = frozenset({"temporarily_unavailable", "server_error", "service_unavailable"})
ASSERTION_REFUSED = frozenset({50013, 500133})
"""AADSTS50013 (invalid assertion) and 500133 (assertion expired): the caller's token itself is no
longer good enough, e.g. it passed our check inside the allowed clock skew but Entra ID allows none."""


class OnBehalfOf:
    """Exchanges callers' tokens for ``scope`` (e.g. ``https://org.crm.dynamics.com/user_impersonation``).

    ``client_secret`` or, when it is ``None``, ``assertion`` (a callable returning a client
    assertion JWT; see :func:`managed_identity_assertion`) proves the app.
    """

    def __init__(
        self,
        *,
        authority: str,
        client_id: str,
        scope: str,
        client_secret: str | None = None,
        assertion: Callable[[], str] | None = None,
        ca_bundle: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if client_secret is None and assertion is None:
            raise ValueError("a client secret or a client assertion is needed")
        self.authority = authority
        self.client_id = client_id
        self.scope = scope
        self._secret = client_secret
        self._assertion = assertion
        self._ca_bundle = ca_bundle
        self._clock = clock
        self._pending: dict[tuple[int, str], asyncio.Future[tuple[str, float]]] = {}
        self._app: Any = None
        self._app_lock = threading.Lock()
        self._tokens: OrderedDict[str, tuple[str, float]] = OrderedDict()

    def __repr__(self) -> str:
        return f"OnBehalfOf(authority={self.authority!r}, client_id={self.client_id!r}, scope={self.scope!r})"

    async def token(self, caller: Caller, *, force_refresh: bool = False) -> str:
        """A token for ``scope`` acting as ``caller``: the cached one while it is fresh, else a new exchange."""
        key = caller.cache_key
        if not force_refresh:
            cached = self._tokens.get(key)
            if cached is not None and cached[1] - self._clock() > REFRESH_MARGIN:
                return cached[0]
        loop = asyncio.get_running_loop()
        pending_key = (id(loop), key)
        pending = None if force_refresh else self._pending.get(pending_key)
        if pending is None:  # the first of concurrent requests of this user exchanges; the others wait for it
            pending = loop.create_task(asyncio.to_thread(self._exchange, caller.token))
            self._pending[pending_key] = pending

            def forget(done: asyncio.Future[tuple[str, float]]) -> None:
                if self._pending.get(pending_key) is done:
                    del self._pending[pending_key]

            pending.add_done_callback(forget)
        token, lifetime = await asyncio.shield(pending)
        self._tokens[key] = (token, self._clock() + lifetime)
        self._tokens.move_to_end(key)
        while len(self._tokens) > MAX_USERS:
            self._tokens.popitem(last=False)
        return token

    def _exchange(self, assertion: str) -> tuple[str, float]:
        try:
            result = self._application().acquire_token_on_behalf_of(assertion, [self.scope])
        except (ExchangeRefused, EntraUnavailable, InvalidToken):
            raise
        except Exception as exc:  # noqa: BLE001 - requests' connection errors, msal's discovery ValueError, ...
            log.warning("on-behalf-of exchange failed: %s", type(exc).__name__)
            raise EntraUnavailable(f"The on-behalf-of exchange failed ({type(exc).__name__}).") from None
        if not isinstance(result, dict):
            raise EntraUnavailable("Entra ID gave no usable answer to the on-behalf-of exchange.")
        token = result.get("access_token")
        if isinstance(token, str) and token:
            return token, _lifetime(result.get("expires_in"))
        error = result.get("error") if isinstance(result.get("error"), str) else None
        codes = result.get("error_codes")
        code = f"AADSTS{codes[0]}" if isinstance(codes, list) and codes and isinstance(codes[0], int) else "no code"
        log.warning("on-behalf-of exchange refused: %s (%s)", error, code)
        if isinstance(codes, list) and any(c in ASSERTION_REFUSED for c in codes if isinstance(c, int)):
            raise InvalidToken(f"Entra ID refused the access token as an assertion ({code}).")
        if error in UNAVAILABLE_ERRORS:
            raise EntraUnavailable(f"Entra ID is unavailable ({error}, {code}).")
        claims = result.get("claims") if isinstance(result.get("claims"), str) else None
        raise ExchangeRefused(f"Entra ID refused the on-behalf-of exchange ({error}, {code}).", error, claims)

    def _application(self) -> Any:
        with self._app_lock:
            if self._app is None:
                import msal

                credential: Any = self._secret if self._secret is not None else {"client_assertion": self._assertion}
                options: dict[str, Any] = {}
                if self._ca_bundle:
                    import requests

                    # Per request: requests 2.34 ignores a session-wide ``verify`` path here (seen in tests).
                    session = requests.Session()
                    session.request = functools.partial(session.request, verify=self._ca_bundle)  # type: ignore[method-assign]
                    options["http_client"] = session
                self._app = msal.ConfidentialClientApplication(
                    self.client_id, authority=self.authority, client_credential=credential,
                    token_cache=_nothing_stored(), instance_discovery=False, **options,
                )
            return self._app


def managed_identity_assertion(managed_identity_client_id: str | None = None) -> Callable[[], str]:
    """A client assertion from the app's managed identity (App Service protocol, via azure-identity).

    ``managed_identity_client_id`` selects a user-assigned identity (a federated credential
    trusts a user-assigned identity); ``None`` means the system-assigned one. azure-identity
    caches the identity's token until shortly before it expires.
    """
    credential: Any = None
    lock = threading.Lock()

    def assertion() -> str:
        nonlocal credential
        with lock:
            if credential is None:
                from azure.identity import ManagedIdentityCredential

                credential = (ManagedIdentityCredential(client_id=managed_identity_client_id)
                              if managed_identity_client_id else ManagedIdentityCredential())
        return credential.get_token(TOKEN_EXCHANGE_AUDIENCE).token

    return assertion


def _lifetime(expires_in: Any) -> float:
    """Seconds the exchanged token lives, bounded to ``[1, MAX_LIFETIME]`` (0 when unusable: not cached)."""
    try:
        seconds = float(expires_in)
    except (TypeError, ValueError, OverflowError):
        return 0.0
    if math.isnan(seconds) or seconds < 1:
        return 0.0
    return min(seconds, MAX_LIFETIME)


def _nothing_stored() -> Any:
    import msal

    class _NothingStored(msal.TokenCache):
        """msal writes every exchanged token, refresh token and account here; this app caches per user itself."""

        def add(self, event: Any, now: Any = None) -> None:
            return None

    return _NothingStored()


class UserTokens:
    """One caller's exchanged tokens, in the shape of the Dataverse client's ``Auth``
    (``await token(force_refresh=...)``): a 401 from Dataverse forces one new exchange."""

    def __init__(self, exchange: OnBehalfOf, caller: Caller) -> None:
        self._exchange = exchange
        self._caller = caller

    def __repr__(self) -> str:
        return f"UserTokens(scope={self._exchange.scope!r})"

    async def token(self, *, force_refresh: bool = False) -> str:
        return await self._exchange.token(self._caller, force_refresh=force_refresh)
