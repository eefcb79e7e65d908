"""The stand-in's ASGI app: per-tenant discovery, JWKS, token and authorize endpoints, the
managed-identity endpoint and the ``/_identity/`` controls."""

from __future__ import annotations

import json
import uuid
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from . import errors
from .authorize import SESSION_COOKIE, Authorize
from .errors import OAuthError
from .managed_identity import ManagedIdentityError, managed_identity_token
from .state import RequestRecord
from .token_endpoint import TokenEndpoint

if TYPE_CHECKING:
    from .stand_in import IdentityStandIn

INDEX = (
    "Entra ID stand-in (development only)\n"
    "GET  /{tenant}/v2.0/.well-known/openid-configuration\n"
    "GET  /{tenant}/discovery/v2.0/keys\n"
    "POST /{tenant}/oauth2/v2.0/token\n"
    "GET  /{tenant}/oauth2/v2.0/authorize\n"
    "GET  /msi/token                  App Service managed identity (IDENTITY_ENDPOINT)\n"
    "     /_identity/...              controls (docs/identity-stand-in.md)\n"
)
NO_STORE = {"Cache-Control": "no-store, no-cache", "Pragma": "no-cache"}
ANY_ORIGIN = {"Access-Control-Allow-Origin": "*"}  # discovery and keys are readable from any page
MULTI_TENANT = ("common", "organizations", "consumers")


def build_app(stand_in: "IdentityStandIn") -> Starlette:
    state = stand_in.state
    token_endpoint = TokenEndpoint(state)
    authorize = Authorize(state)

    def base() -> str:
        return stand_in.url

    async def index(request: Request) -> Response:
        return PlainTextResponse(INDEX)

    async def openid_configuration(request: Request) -> Response:
        segment = request.path_params["tenant"]
        if segment in MULTI_TENANT:
            issuer = f"{base()}/{{tenantid}}/v2.0"
        else:
            tenant = state.directory.tenant(segment)
            if tenant is None:
                return _oauth_error(errors.tenant_not_found(segment), request)
            issuer = state.issuer.issuer_v2(tenant.tenant_id)
        root = f"{base()}/{segment}"
        return JSONResponse(headers=ANY_ORIGIN, content={
            "token_endpoint": f"{root}/oauth2/v2.0/token",
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
            "jwks_uri": f"{root}/discovery/v2.0/keys",
            "response_modes_supported": ["query", "fragment", "form_post"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["code"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "issuer": issuer,
            "request_uri_parameter_supported": False,
            "authorization_endpoint": f"{root}/oauth2/v2.0/authorize",
            "code_challenge_methods_supported": ["S256"],
            "http_logout_supported": False,
            "frontchannel_logout_supported": False,
            "claims_supported": ["sub", "iss", "aud", "exp", "iat", "nbf", "name", "nonce", "oid",
                                 "preferred_username", "tid", "ver"],
            "tenant_region_scope": None,
            "cloud_instance_name": "stand-in.local",
            "cloud_graph_host_name": "stand-in.local",
            "msgraph_host": "stand-in.local",
        })

    async def keys(request: Request) -> Response:
        segment = request.path_params["tenant"]
        if segment not in MULTI_TENANT and state.directory.tenant(segment) is None:
            return _oauth_error(errors.tenant_not_found(segment), request)
        template = f"{base()}/{{tenantid}}/v2.0"
        with state.lock:
            state.keys_served += 1
            published = state.keys.published(state.clock.now())
            return JSONResponse({"keys": [k.jwk(template) for k in published]}, headers=ANY_ORIGIN)

    async def token(request: Request) -> Response:
        segment = request.path_params["tenant"]
        form = _form(await request.body())
        origin = request.headers.get("origin")
        cors = {"Access-Control-Allow-Origin": origin, "Vary": "Origin"} if origin else {}
        record = RequestRecord("token", segment, form.get("grant_type"), form.get("client_id"), 200)
        try:
            fault = state.take_fault()
            if fault is not None:
                raise OAuthError(fault.status, "temporarily_unavailable", 90033,
                                 "A transient error has occurred. Please try again.", retry_after=fault.retry_after)
            tenant = state.directory.tenant(segment)
            if tenant is None:
                raise errors.tenant_not_found(segment)
            client = state.directory.app(tenant.tenant_id, form.get("client_id", ""))
            if origin and client is not None and not client.public_client:
                raise errors.invalid_request(9002326, "Cross-origin token redemption is permitted only for the "
                                             f"'Single-Page Application' client-type. Request origin: '{origin}'.")
            answer = token_endpoint.handle(tenant, form, request.headers.get("authorization"),
                                           f"{base()}{request.url.path}")
        except OAuthError as exc:
            record.status, record.error_code = exc.status, exc.code
            state.record(record)
            return _oauth_error(exc, request, cors)
        state.record(record)
        return JSONResponse(answer, headers={**NO_STORE, **_correlation(request), **cors})

    async def token_preflight(request: Request) -> Response:
        """Browsers (SPAs redeeming codes with msal-browser) preflight the token endpoint."""
        return Response(status_code=204, headers={
            "Access-Control-Allow-Origin": request.headers.get("origin", "*"),
            "Access-Control-Allow-Methods": "POST, OPTIONS",
            "Access-Control-Allow-Headers": request.headers.get("access-control-request-headers", "content-type"),
            "Access-Control-Max-Age": "600",
            "Vary": "Origin",
        })

    async def authorize_endpoint(request: Request) -> Response:
        segment = request.path_params["tenant"]
        params = dict(parse_qsl(request.url.query, keep_blank_values=True))
        chosen = None
        if request.method == "POST":
            params = _form(await request.body())
            chosen = params.pop("user", "")
        answer = authorize.answer(segment, params, request.cookies.get(SESSION_COOKIE), chosen)
        state.record(RequestRecord("authorize", segment, None, params.get("client_id"), answer.status_code,
                                   extra={"prompt": params.get("prompt")}))
        return answer

    async def managed_identity(request: Request) -> Response:
        query = dict(parse_qsl(request.url.query, keep_blank_values=True))
        record = RequestRecord("managed_identity", state.directory.home_tenant_id, None, query.get("client_id"), 200,
                               extra={"resource": query.get("resource")})
        fault = state.take_fault()
        try:
            if fault is not None:
                raise ManagedIdentityError(fault.status, "The managed identity endpoint is unavailable (planned).")
            answer = managed_identity_token(state, query, request.headers.get("x-identity-header"))
        except ManagedIdentityError as exc:
            record.status = exc.status
            state.record(record)
            headers = {"Retry-After": str(fault.retry_after)} if fault is not None and fault.retry_after else {}
            return JSONResponse(exc.body(), status_code=exc.status, headers=headers)
        state.record(record)
        return JSONResponse(answer, headers=NO_STORE)

    routes = [
        Route("/", index, methods=["GET"]),
        Route("/msi/token", managed_identity, methods=["GET"]),
        *_admin_routes(stand_in),
        Route("/{tenant}/v2.0/.well-known/openid-configuration", openid_configuration, methods=["GET"]),
        Route("/{tenant}/discovery/v2.0/keys", keys, methods=["GET"]),
        Route("/{tenant}/oauth2/v2.0/token", token, methods=["POST"]),
        Route("/{tenant}/oauth2/v2.0/token", token_preflight, methods=["OPTIONS"]),
        Route("/{tenant}/oauth2/v2.0/authorize", authorize_endpoint, methods=["GET", "POST"]),
    ]
    return Starlette(routes=routes)


def _form(body: bytes) -> dict[str, str]:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return {}
    form: dict[str, str] = {}
    for key, value in parse_qsl(text, keep_blank_values=True):
        form.setdefault(key, value)
    return form


def _correlation(request: Request) -> dict[str, str]:
    return {"client-request-id": request.headers.get("client-request-id") or str(uuid.uuid4()),
            "x-ms-request-id": str(uuid.uuid4())}


def _oauth_error(exc: OAuthError, request: Request, cors: dict[str, str] | None = None) -> Response:
    headers = {**NO_STORE, **_correlation(request), **(cors or {})}
    if exc.retry_after is not None:
        headers["Retry-After"] = str(exc.retry_after)
    return JSONResponse(exc.body(headers["client-request-id"]), status_code=exc.status, headers=headers)


# -- /_identity/ controls ------------------------------------------------------------------------

class BadControl(ValueError):
    pass


def _admin_routes(stand_in: "IdentityStandIn") -> list[Route]:
    def control(handler: Any) -> Any:
        async def run(request: Request) -> Response:
            try:
                raw = await request.body()
                payload = json.loads(raw) if raw else {}
                if not isinstance(payload, dict):
                    raise BadControl("the body must be a JSON object")
                return JSONResponse(handler(payload))
            except (BadControl, KeyError, TypeError, ValueError) as exc:
                detail = f"missing field {exc}" if isinstance(exc, KeyError) else str(exc)
                return JSONResponse({"type": "about:blank", "title": "Bad control request", "status": 400,
                                     "detail": detail}, status_code=400, media_type="application/problem+json")

        return run

    def summary(_: dict[str, Any]) -> dict[str, Any]:
        return stand_in.describe()

    def reset(_: dict[str, Any]) -> dict[str, Any]:
        stand_in.reset()
        return {"reset": True}

    def add_tenant(body: dict[str, Any]) -> dict[str, Any]:
        return {"tenant_id": stand_in.add_tenant(body.get("tenant_id"), body.get("domain"))}

    def add_user(body: dict[str, Any]) -> dict[str, Any]:
        return stand_in.add_user(**body).public()

    def add_app(body: dict[str, Any]) -> dict[str, Any]:
        with_secret = bool(body.pop("secret", False))
        app = stand_in.add_app(**body)
        secret = app.add_secret() if with_secret else None
        answer = app.public()
        if secret is not None:
            answer["secret"] = secret
        return answer

    def add_managed_identity(body: dict[str, Any]) -> dict[str, Any]:
        return stand_in.add_managed_identity(**body).public()

    def add_federated_credential(body: dict[str, Any]) -> dict[str, Any]:
        app = stand_in.state.directory.apps.get(str(body["client_id"]))
        if app is None:
            raise BadControl("no app with that client_id")
        mi_client_id = body.get("managed_identity_client_id")
        if mi_client_id:
            mi = stand_in.state.directory.managed_identity(client_id=mi_client_id, principal_id=None, resource_id=None)
            if mi is None:
                raise BadControl("no managed identity with that client id")
            credential = stand_in.trust_managed_identity(app, mi)
        else:
            credential = stand_in.add_federated_credential(app, str(body["issuer"]), str(body["subject"]),
                                                           body.get("audiences"))
        return vars(credential)

    def rotate_keys(body: dict[str, Any]) -> dict[str, Any]:
        overlap = float(body.get("overlap_seconds", 3600))
        return {"kid": stand_in.rotate_keys(overlap=overlap), "published": stand_in.published_kids()}

    def settings(body: dict[str, Any]) -> dict[str, Any]:
        if "token_lifetime" in body:
            stand_in.token_lifetime = int(body["token_lifetime"])
        if "clock_offset" in body:
            stand_in.clock_offset = float(body["clock_offset"])
        return {"token_lifetime": stand_in.token_lifetime, "clock_offset": stand_in.clock_offset}

    def faults(body: dict[str, Any]) -> dict[str, Any]:
        retry_after = body.get("retry_after")
        stand_in.fail_next(int(body.get("count", 1)), status=int(body.get("status", 503)),
                           retry_after=None if retry_after is None else int(retry_after))
        return {"pending": len(stand_in.state.faults)}

    def requests(_: dict[str, Any]) -> dict[str, Any]:
        return {"requests": [vars(r) for r in stand_in.token_requests]}

    def user_token(body: dict[str, Any]) -> dict[str, Any]:
        return {"access_token": stand_in.mint_user_token(
            body["user"], body["resource"], body.get("scopes", []), client_id=body.get("client_id"),
            tenant_id=body.get("tenant_id"))}

    return [
        Route("/_identity/", control(summary), methods=["GET"]),
        Route("/_identity/reset", control(reset), methods=["POST"]),
        Route("/_identity/tenants", control(add_tenant), methods=["POST"]),
        Route("/_identity/users", control(add_user), methods=["POST"]),
        Route("/_identity/apps", control(add_app), methods=["POST"]),
        Route("/_identity/managed-identities", control(add_managed_identity), methods=["POST"]),
        Route("/_identity/federated-credentials", control(add_federated_credential), methods=["POST"]),
        Route("/_identity/keys/rotate", control(rotate_keys), methods=["POST"]),
        Route("/_identity/settings", control(settings), methods=["POST"]),
        Route("/_identity/faults", control(faults), methods=["POST"]),
        Route("/_identity/requests", control(requests), methods=["GET"]),
        Route("/_identity/user-tokens", control(user_token), methods=["POST"]),
    ]
