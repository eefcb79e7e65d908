"""``/{tenant}/oauth2/v2.0/authorize``: a sign-in page listing the stand-in's users, and the
silent (``prompt=none``) answers Entra ID gives, returned per ``response_mode``."""

from __future__ import annotations

import html
import secrets
from dataclasses import dataclass
from urllib.parse import urlencode

from starlette.responses import HTMLResponse, RedirectResponse, Response

from . import errors
from .directory import App, Tenant, User
from .errors import OAuthError
from .state import CODE_LIFETIME, DelegatedGrant, IdentityState
from .token_endpoint import parse_scope

SESSION_COOKIE = "stand_in_session"
RESPONSE_MODES = ("query", "fragment", "form_post")


class PageError(Exception):
    """Errors Entra ID shows on its own page instead of redirecting (unknown app, foreign redirect URI)."""

    def __init__(self, status: int, error: OAuthError) -> None:
        super().__init__(error.description)
        self.status = status
        self.error = error


@dataclass
class AuthorizeRequest:
    tenant: Tenant
    client: App
    params: dict[str, str]
    redirect_uri: str
    response_mode: str
    resource_id: str = ""
    scopes: list[str] | None = None
    oidc: list[str] | None = None


class Authorize:
    def __init__(self, state: IdentityState) -> None:
        self.state = state

    def answer(self, tenant_segment: str, params: dict[str, str], cookie: str | None, chosen: str | None) -> Response:
        """GET (``chosen`` None): silent answer or the sign-in page. POST: ``chosen`` user signs in."""
        try:
            request = self._front(tenant_segment, params)
        except PageError as exc:
            return _error_page(exc.status, exc.error)
        try:
            with self.state.lock:
                self._check(request)
                if chosen is not None:
                    user = self.state.directory.user(request.tenant.tenant_id, chosen)
                    if user is None:
                        return _error_page(400, errors.invalid_request(50034, "The user account does not exist."))
                    return self._sign_in(request, user)
                if params.get("prompt") == "none":
                    return self._silent(request, cookie)
        except OAuthError as exc:
            return _redirect(request, {"error": exc.error, "error_description": exc.body()["error_description"]})
        return self._page(request)

    def _front(self, tenant_segment: str, params: dict[str, str]) -> AuthorizeRequest:
        tenant = self.state.directory.tenant(tenant_segment)
        if tenant is None:
            raise PageError(400, errors.tenant_not_found(tenant_segment))
        client_id = params.get("client_id")
        if not client_id:
            raise PageError(400, errors.missing("client_id"))
        client = self.state.directory.app(tenant.tenant_id, client_id)
        if client is None:
            raise PageError(400, errors.unknown_client(client_id, tenant.tenant_id))
        redirect_uri = params.get("redirect_uri") or (client.redirect_uris[0] if client.redirect_uris else "")
        if redirect_uri not in client.redirect_uris:
            raise PageError(400, errors.invalid_request(50011, f"The redirect URI '{redirect_uri}' specified in the "
                                                        "request does not match the redirect URIs configured for "
                                                        f"the application '{client.client_id}'."))
        mode = params.get("response_mode", "query")
        if mode not in RESPONSE_MODES:
            raise PageError(400, errors.invalid_request(900144, f"The response_mode '{mode}' is not supported."))
        return AuthorizeRequest(tenant, client, params, redirect_uri, mode)

    def _check(self, request: AuthorizeRequest) -> None:
        params = request.params
        if params.get("response_type") != "code":
            raise OAuthError(400, "unsupported_response_type", 700054,
                             "response_type must be 'code' at this stand-in (implicit grant is not enabled).")
        if not params.get("scope"):
            raise errors.missing("scope")
        scopes = parse_scope(params["scope"])
        resource = self.state.directory.resource(request.tenant.tenant_id, scopes.resource_id)
        if resource is None:
            raise OAuthError(400, "invalid_resource", 500011, f"The resource principal named {scopes.resource_id} "
                             f"was not found in the tenant named {request.tenant.tenant_id}.")
        names = list(resource.scopes) if scopes.names == [".default"] else scopes.names
        unknown = [n for n in names if n not in resource.scopes]
        if unknown or not names:
            raise errors.invalid_scope(70011, f"The provided value for the input parameter 'scope' is not valid. "
                                       f"The scope {' '.join(unknown)} is not exposed by '{resource.client_id}'.")
        challenge, method = params.get("code_challenge"), params.get("code_challenge_method", "plain")
        if challenge is not None and method != "S256":
            raise errors.invalid_request(501491, "This stand-in accepts only the S256 code_challenge_method.")
        if challenge is None and request.client.public_client:
            raise errors.invalid_request(9002325, "Proof Key for Code Exchange is required for cross-origin "
                                         "authorization code redemption.")
        request.resource_id, request.scopes, request.oidc = scopes.resource_id, names, scopes.oidc

    def _silent(self, request: AuthorizeRequest, cookie: str | None) -> Response:
        oid = self.state.sessions.get(cookie or "")
        user = self.state.directory.user(request.tenant.tenant_id, oid) if oid else None
        hint = request.params.get("login_hint")
        if user is None or (hint and hint.lower() != user.username.lower()):
            raise OAuthError(400, "login_required", 50058, "A silent sign-in request was sent but no user is "
                             "signed in.")
        if user.requires_interaction:
            raise OAuthError(400, "interaction_required", 50076, "Due to a configuration change made by your "
                             "administrator, or because you moved to a new location, you must use multi-factor "
                             "authentication to access the resource.")
        resource = self.state.directory.resource(request.tenant.tenant_id, request.resource_id)
        assert resource is not None and request.scopes is not None
        if not set(request.scopes) <= self.state.consented(user.oid, request.client.client_id, resource.client_id):
            raise OAuthError(400, "consent_required", 65001, "The user or administrator has not consented to use "
                             f"the application with ID '{request.client.client_id}'.")
        return self._code_answer(request, user)

    def _sign_in(self, request: AuthorizeRequest, user: User) -> Response:
        resource = self.state.directory.resource(request.tenant.tenant_id, request.resource_id)
        assert resource is not None and request.scopes is not None
        for name in request.scopes:  # signing in on the page stands for the user's consent
            self.state.consents.add((user.oid, request.client.client_id, resource.client_id, name))
        session = secrets.token_urlsafe(24)
        self.state.sessions[session] = user.oid
        answer = self._code_answer(request, user)
        answer.set_cookie(SESSION_COOKIE, session, path=f"/{request.tenant.tenant_id}", secure=True, httponly=True,
                          samesite="none")
        return answer

    def _code_answer(self, request: AuthorizeRequest, user: User) -> Response:
        params = request.params
        code = self.state.new_code(DelegatedGrant(
            client_id=request.client.client_id, tenant_id=request.tenant.tenant_id, user_oid=user.oid,
            resource_id=request.resource_id, scopes=list(request.scopes or []), oidc=list(request.oidc or []),
            expires_at=self.state.clock.now() + CODE_LIFETIME, redirect_uri=request.redirect_uri,
            code_challenge=params.get("code_challenge"), nonce=params.get("nonce"),
        ))
        return _redirect(request, {"code": code})

    def _page(self, request: AuthorizeRequest) -> Response:
        users = sorted(self.state.directory.tenants[request.tenant.tenant_id].users.values(), key=lambda u: u.username)
        hidden = "".join(f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
                         for k, v in request.params.items() if k != "user")
        buttons = "".join(
            f'<li><button type="submit" name="user" value="{html.escape(u.oid)}">{html.escape(u.name)} '
            f"&lt;{html.escape(u.username)}&gt;</button></li>" for u in users) or "<li>(no users)</li>"
        body = (
            "<!doctype html><html><head><meta charset='utf-8'><title>Sign in (identity stand-in)</title></head>"
            f"<body><h1>Sign in to {html.escape(request.client.name)}</h1>"
            "<p>Identity stand-in for development: choose a user. Signing in also consents to the requested "
            "scopes.</p>"
            f'<form method="post" action="">{hidden}<ul>{buttons}</ul></form></body></html>'
        )
        return HTMLResponse(body)


def _redirect(request: AuthorizeRequest, values: dict[str, str]) -> Response:
    if "state" in request.params:
        values = {**values, "state": request.params["state"]}
    if request.response_mode == "form_post":
        fields = "".join(f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
                         for k, v in values.items())
        return HTMLResponse(
            "<!doctype html><html><head><title>Working...</title></head><body onload='document.forms[0].submit()'>"
            f'<form method="post" action="{html.escape(request.redirect_uri)}">{fields}'
            "<noscript><button type='submit'>Continue</button></noscript></form></body></html>"
        )
    separator = "#" if request.response_mode == "fragment" else ("&" if "?" in request.redirect_uri else "?")
    return RedirectResponse(request.redirect_uri + separator + urlencode(values), status_code=302)


def _error_page(status: int, error: OAuthError) -> Response:
    return HTMLResponse(
        "<!doctype html><html><head><title>Sign in error</title></head><body><h1>Sorry, but we're having trouble "
        f"signing you in.</h1><p>{html.escape(error.description)}</p></body></html>",
        status_code=status,
    )
