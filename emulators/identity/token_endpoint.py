"""``POST /{tenant}/oauth2/v2.0/token``: client credentials, on-behalf-of, authorization code
with PKCE, refresh token; client secrets, certificate assertions and federated assertions."""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any
from urllib.parse import unquote_plus

from . import errors
from .directory import OIDC_SCOPES, App, Tenant, User
from .errors import OAuthError
from .issuer import ASSERTION, PUBLIC, SECRET, caller_for_app, client_info
from .jws import MalformedToken, UnverifiedToken, b64url
from .state import REFRESH_LIFETIME, DelegatedGrant, IdentityState

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
CLOCK_SKEW = 300


class RequestedScopes:
    """A ``scope`` parameter: one resource (identifier as named), its scope names, and OIDC scopes."""

    def __init__(self, resource_id: str, names: list[str], oidc: list[str]) -> None:
        self.resource_id = resource_id
        self.names = names
        self.oidc = oidc


def parse_scope(value: str) -> RequestedScopes:
    oidc: list[str] = []
    resources: dict[str, list[str]] = {}
    for item in value.split():
        if item in OIDC_SCOPES:
            oidc.append(item)
            continue
        prefix, slash, name = item.rpartition("/")
        if not slash or not prefix or not name:
            raise errors.invalid_scope(70011, f"The provided value for the input parameter 'scope' is not valid. "
                                       f"The scope '{item}' does not name a resource this stand-in hosts.")
        resources.setdefault(prefix, []).append(name)
    if len(resources) != 1:
        raise errors.invalid_scope(28000, "Provided value for the input parameter scope is not valid because it "
                                   "does not contain exactly one resource.")
    (resource_id, names), = resources.items()
    return RequestedScopes(resource_id, names, oidc)


class TokenEndpoint:
    def __init__(self, state: IdentityState) -> None:
        self.state = state

    def handle(self, tenant: Tenant, form: dict[str, str], authorization: str | None, token_url: str) -> dict[str, Any]:
        grant_type = form.get("grant_type")
        if not grant_type:
            raise errors.missing("grant_type")
        with self.state.lock:
            if grant_type == "client_credentials":
                return self._client_credentials(tenant, form, authorization, token_url)
            if grant_type == JWT_BEARER:
                return self._on_behalf_of(tenant, form, authorization, token_url)
            if grant_type == "authorization_code":
                return self._authorization_code(tenant, form, authorization, token_url)
            if grant_type == "refresh_token":
                return self._refresh_token(tenant, form, authorization, token_url)
        raise OAuthError(400, "unsupported_grant_type", 70003, f"The app requested an unsupported grant type "
                         f"'{grant_type}'.")

    # -- client authentication ---------------------------------------------------------------

    def authenticate(self, tenant: Tenant, form: dict[str, str], authorization: str | None, token_url: str,
                     *, allow_public: bool) -> tuple[App, str]:
        basic_id, basic_secret = _basic(authorization)
        client_id = form.get("client_id") or basic_id
        if not client_id:
            raise errors.missing("client_id")
        app = self.state.directory.app(tenant.tenant_id, client_id)
        if app is None:
            raise errors.unknown_client(client_id, tenant.tenant_id)
        secret = form.get("client_secret") or basic_secret
        assertion = form.get("client_assertion")
        if app.public_client:
            if secret or assertion:
                raise errors.invalid_client(700025, "Client is public so neither 'client_assertion' nor "
                                            "'client_secret' should be presented.")
            if not allow_public:
                raise errors.invalid_client(7000218, "The request body must contain the following parameter: "
                                            "'client_assertion' or 'client_secret'.")
            return app, PUBLIC
        if secret:
            if not any(hmac.compare_digest(secret.encode(), s.encode()) for s in app.secrets):
                raise errors.invalid_client(7000215, "Invalid client secret provided. Ensure the secret being sent "
                                            "in the request is the client secret value, not the client secret ID, "
                                            f"for a secret added to app '{app.client_id}'.")
            return app, SECRET
        if assertion:
            if form.get("client_assertion_type") != ASSERTION_TYPE:
                raise errors.missing("client_assertion_type")
            self._check_client_assertion(app, assertion, tenant, token_url)
            return app, ASSERTION
        raise errors.invalid_client(7000218, "The request body must contain the following parameter: "
                                    "'client_assertion' or 'client_secret'.")

    def _check_client_assertion(self, app: App, assertion: str, tenant: Tenant, token_url: str) -> None:
        try:
            token = UnverifiedToken(assertion)
        except MalformedToken:
            raise errors.invalid_request(50027, "JWT token is invalid or malformed.") from None
        claims = token.claims
        now = self.state.clock.now()
        x5t = str(token.header.get("x5t", "")).rstrip("=")  # msal keeps the base64 padding
        x5t_s256 = str(token.header.get("x5t#S256", "")).rstrip("=")
        certificate = next((c for c in app.certificates if x5t_s256 == c.x5t_s256 or x5t == c.x5t), None)
        if certificate is not None:
            if not token.verify(certificate.public_key):
                raise errors.invalid_client(700027, "Client assertion failed signature validation.")
            if claims.get("iss") != app.client_id or claims.get("sub") != app.client_id:
                raise errors.invalid_client(700021, "Client assertion application identifier doesn't match "
                                            "'client_id' parameter.")
            audiences = claims.get("aud") if isinstance(claims.get("aud"), list) else [claims.get("aud")]
            if token_url not in audiences and self.state.issuer.issuer_v2(tenant.tenant_id) not in audiences:
                raise errors.invalid_client(700212, "The audience of the client assertion is not the token "
                                            f"endpoint '{token_url}'.")
        else:
            key = self.state.keys.public_key(str(token.header.get("kid", "")), now)
            if key is None and not app.federated_credentials:
                raise errors.invalid_client(700027, "Client assertion contains an invalid signature. [Reason - "
                                            "The key was not found.]")
            if key is None or not token.verify(key):
                raise errors.invalid_client(700027, "Client assertion failed signature validation.")
            aud = claims.get("aud")
            if not any(f.issuer == claims.get("iss") and f.subject == claims.get("sub") and aud in f.audiences
                       for f in app.federated_credentials):
                raise errors.invalid_request(70021, "No matching federated identity record found for presented "
                                             f"assertion. Assertion Issuer: '{claims.get('iss')}'. Assertion "
                                             f"Subject: '{claims.get('sub')}'. Assertion Audience: '{aud}'.")
        exp, nbf = claims.get("exp"), claims.get("nbf", claims.get("iat", 0))
        if not isinstance(exp, int | float) or not isinstance(nbf, int | float) or exp <= now - CLOCK_SKEW \
                or nbf > now + CLOCK_SKEW:
            raise errors.invalid_client(700024, f"Client assertion is not within its valid time range. Current "
                                        f"time: {int(now)}, assertion valid from {nbf}, expiry time of assertion "
                                        f"{exp}.")

    # -- grants ------------------------------------------------------------------------------

    def _client_credentials(self, tenant: Tenant, form: dict[str, str], authorization: str | None,
                            token_url: str) -> dict[str, Any]:
        client, acr = self.authenticate(tenant, form, authorization, token_url, allow_public=False)
        scope = form.get("scope")
        if not scope:
            raise errors.missing("scope")
        items = scope.split()
        if len(items) != 1 or not items[0].endswith("/.default"):
            raise errors.invalid_scope(1002012, f"The provided value for scope {scope} is not valid. Client "
                                       "credential flows must have a scope value with /.default suffixed to the "
                                       "resource identifier (application ID URI).")
        requested = items[0].removesuffix("/.default")
        resource = self._resource(tenant, requested)
        roles = client.application_grants.get(resource.client_id, [])
        token, expires_in = self.state.issuer.access_token(resource, requested, caller_for_app(client, acr),
                                                           roles=roles)
        return {"token_type": "Bearer", "expires_in": expires_in, "ext_expires_in": expires_in,
                "access_token": token}

    def _on_behalf_of(self, tenant: Tenant, form: dict[str, str], authorization: str | None,
                      token_url: str) -> dict[str, Any]:
        client, acr = self.authenticate(tenant, form, authorization, token_url, allow_public=False)
        if form.get("requested_token_use") != "on_behalf_of":
            raise errors.missing("requested_token_use")
        assertion = form.get("assertion")
        if not assertion:
            raise errors.missing("assertion")
        if not form.get("scope"):
            raise errors.missing("scope")
        user = self._user_from_assertion(tenant, client, assertion)
        scopes = parse_scope(form["scope"])
        resource = self._resource(tenant, scopes.resource_id)
        if user.requires_interaction:
            raise OAuthError(400, "interaction_required", 50076, "Due to a configuration change made by your "
                             "administrator, or because you moved to a new location, you must use multi-factor "
                             f"authentication to access '{resource.client_id}'.",
                             claims='{"access_token":{"capolids":{"essential":true,"values":["stand-in-mfa"]}}}')
        names = self._consented_names(user, client, resource, scopes.names)
        return self._delegated_answer(client, acr, user, resource, scopes.resource_id, names, scopes.oidc, form)

    def _user_from_assertion(self, tenant: Tenant, client: App, assertion: str) -> User:
        try:
            token = UnverifiedToken(assertion)
        except MalformedToken:
            raise errors.invalid_request(50027, "JWT token is invalid or malformed.") from None
        now = self.state.clock.now()
        key = self.state.keys.public_key(str(token.header.get("kid", "")), now)
        if token.alg != "RS256" or key is None or not token.verify(key):
            raise errors.invalid_grant(50013, "Assertion failed signature validation. [Reason - The key was not "
                                       "found or the signature does not match.]")
        claims = token.claims
        issuers = {self.state.issuer.issuer_v2(tenant.tenant_id), self.state.issuer.issuer_v1(tenant.tenant_id)}
        if claims.get("tid") != tenant.tenant_id or claims.get("iss") not in issuers:
            raise errors.invalid_grant(50013, f"Assertion issuer '{claims.get('iss')}' is not valid for tenant "
                                       f"'{tenant.tenant_id}'.")
        exp, nbf = claims.get("exp"), claims.get("nbf", 0)
        if not isinstance(exp, int | float) or exp <= now or not isinstance(nbf, int | float) or nbf > now + CLOCK_SKEW:
            raise errors.invalid_grant(500133, "Assertion is not within its valid time range. Ensure that the "
                                       "access token is not expired before using it for user assertion, or request "
                                       "a new token.")
        accepted = {client.client_id, *client.identifier_uris}
        if claims.get("aud") not in accepted:
            raise errors.invalid_grant(50013, f"Assertion audience does not match the Client app presenting the "
                                       f"assertion. The audience in the assertion was '{claims.get('aud')}' and the "
                                       f"expected audience is '{client.client_id}' or one of the Application Id "
                                       "URIs of this application.")
        if "scp" not in claims or claims.get("idtyp") == "app":
            raise errors.invalid_grant(50013, "Assertion is an app-only token; on-behalf-of needs a user token.")
        user = self.state.directory.user(tenant.tenant_id, str(claims.get("oid", "")))
        if user is None:
            raise errors.invalid_grant(50034, f"The user account {claims.get('oid')} does not exist in the "
                                       f"{tenant.tenant_id} directory.")
        return user

    def _authorization_code(self, tenant: Tenant, form: dict[str, str], authorization: str | None,
                            token_url: str) -> dict[str, Any]:
        client, acr, grant = self._stored_grant(
            tenant, form, authorization, token_url, "code", self.state.codes,
            errors.invalid_grant(70000, "The provided value for the 'code' parameter is not valid."))
        if grant.used:
            raise errors.invalid_grant(54005, "OAuth2 Authorization code was already redeemed, please retry with a "
                                       "new valid code or use an existing refresh token.")
        if grant.expires_at <= self.state.clock.now():
            raise errors.invalid_grant(70008, "The provided authorization code or refresh token has expired due to "
                                       "inactivity. Send a new interactive authorization request for this user "
                                       "and resource.")
        if grant.client_id != client.client_id:
            raise errors.invalid_grant(70000, "The provided value for the 'code' parameter is not valid. The code "
                                       "was issued to another client.")
        if form.get("redirect_uri") != grant.redirect_uri:
            raise errors.invalid_grant(70000, "The provided value for the 'redirect_uri' is not valid. The value "
                                       "must exactly match the redirect URI used to obtain the authorization code.")
        if grant.code_challenge is not None:
            verifier = form.get("code_verifier")
            if not verifier:
                raise errors.missing("code_verifier")
            challenge = b64url(hashlib.sha256(verifier.encode("ascii", "replace")).digest())
            if not hmac.compare_digest(challenge, grant.code_challenge):
                raise errors.invalid_grant(501481, "The Code_Verifier does not match the code_challenge supplied in "
                                           "the authorization request.")
        grant.used = True
        user = self._grant_user(grant)
        resource = self._resource(tenant, grant.resource_id)
        return self._delegated_answer(client, acr, user, resource, grant.resource_id, grant.scopes, grant.oidc,
                                      form, nonce=grant.nonce)

    def _refresh_token(self, tenant: Tenant, form: dict[str, str], authorization: str | None,
                       token_url: str) -> dict[str, Any]:
        client, acr, grant = self._stored_grant(
            tenant, form, authorization, token_url, "refresh_token", self.state.refresh_tokens,
            errors.invalid_grant(9002313, "Invalid request. Request is malformed or invalid."))
        if grant.client_id != client.client_id:
            raise errors.invalid_grant(70000, "The refresh token was issued to a different client.")
        if grant.expires_at <= self.state.clock.now():
            raise errors.invalid_grant(700082, "The refresh token has expired due to inactivity.")
        user = self._grant_user(grant)
        if form.get("scope"):
            scopes = parse_scope(form["scope"])
            resource = self._resource(tenant, scopes.resource_id)
            names = self._consented_names(user, client, resource, scopes.names)
            resource_id, oidc = scopes.resource_id, scopes.oidc
        else:
            resource = self._resource(tenant, grant.resource_id)
            resource_id, names, oidc = grant.resource_id, grant.scopes, grant.oidc
        return self._delegated_answer(client, acr, user, resource, resource_id, names, oidc, form)

    # -- helpers -----------------------------------------------------------------------------

    def _stored_grant(self, tenant: Tenant, form: dict[str, str], authorization: str | None, token_url: str,
                      parameter: str, store: dict[str, DelegatedGrant],
                      unknown: OAuthError) -> tuple[App, str, DelegatedGrant]:
        """The client (public clients allowed) and the code or refresh token it redeems."""
        client, acr = self.authenticate(tenant, form, authorization, token_url, allow_public=True)
        value = form.get(parameter)
        if not value:
            raise errors.missing(parameter)
        grant = store.get(value)
        if grant is None or grant.tenant_id != tenant.tenant_id:
            raise unknown
        return client, acr, grant

    def _resource(self, tenant: Tenant, requested: str) -> App:
        resource = self.state.directory.resource(tenant.tenant_id, requested)
        if resource is None:
            raise OAuthError(400, "invalid_resource", 500011, f"The resource principal named {requested} was not "
                             f"found in the tenant named {tenant.tenant_id}. This can happen if the application has "
                             "not been installed by the administrator of the tenant or consented to by any user in "
                             "the tenant.")
        return resource

    def _grant_user(self, grant: DelegatedGrant) -> User:
        user = self.state.directory.user(grant.tenant_id, grant.user_oid)
        if user is None:
            raise errors.invalid_grant(50034, f"The user account {grant.user_oid} does not exist in the "
                                       f"{grant.tenant_id} directory.")
        return user

    def _consented_names(self, user: User, client: App, resource: App, names: list[str]) -> list[str]:
        consented = self.state.consented(user.oid, client.client_id, resource.client_id)
        wanted = sorted(consented) if names == [".default"] else names
        unknown = [n for n in wanted if n not in resource.scopes]
        if unknown:
            raise errors.invalid_scope(70011, f"The provided value for the input parameter 'scope' is not valid. "
                                       f"The scope {' '.join(unknown)} is not exposed by '{resource.client_id}'.")
        if not wanted or not set(wanted) <= consented:
            raise errors.invalid_grant(65001, f"The user or administrator has not consented to use the application "
                                       f"with ID '{client.client_id}' named '{client.name}'. Send an interactive "
                                       "authorization request for this user and resource.")
        return wanted

    def _delegated_answer(self, client: App, acr: str, user: User, resource: App, resource_id: str,
                          names: list[str], oidc: list[str], form: dict[str, str],
                          nonce: str | None = None) -> dict[str, Any]:
        token, expires_in = self.state.issuer.access_token(
            resource, resource_id, caller_for_app(client, acr), user=user, scopes=names)
        answer: dict[str, Any] = {
            "token_type": "Bearer",
            "scope": " ".join([f"{resource_id}/{n}" for n in names] + [s for s in oidc if s != "offline_access"]),
            "expires_in": expires_in,
            "ext_expires_in": expires_in,
            "access_token": token,
        }
        if "offline_access" in oidc:
            answer["refresh_token"] = self.state.new_refresh_token(DelegatedGrant(
                client.client_id, user.tenant_id, user.oid, resource_id, names, oidc,
                self.state.clock.now() + REFRESH_LIFETIME))
        if "openid" in oidc:
            answer["id_token"] = self.state.issuer.id_token(client.client_id, user, nonce)
        if form.get("client_info") == "1":
            answer["client_info"] = client_info(user)
        return answer


def _basic(authorization: str | None) -> tuple[str | None, str | None]:
    if not authorization or not authorization.lower().startswith("basic "):
        return None, None
    try:
        decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode()
    except (ValueError, UnicodeDecodeError):
        return None, None
    client_id, _, secret = decoded.partition(":")
    return unquote_plus(client_id) or None, unquote_plus(secret) or None
