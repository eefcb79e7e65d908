"""The App Service managed-identity endpoint (``IDENTITY_ENDPOINT`` / ``IDENTITY_HEADER``, api-version 2019-08-01).

Errors are ``{"statusCode", "message"}`` JSON; the exact wording App Service uses is not
documented, so these are the stand-in's.
"""

from __future__ import annotations

import hmac
from typing import Any

from .issuer import caller_for_managed_identity
from .state import IdentityState

API_VERSION = "2019-08-01"


class ManagedIdentityError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message

    def body(self) -> dict[str, Any]:
        return {"statusCode": self.status, "message": self.message}


def managed_identity_token(state: IdentityState, query: dict[str, str], header: str | None) -> dict[str, Any]:
    if header is None or not hmac.compare_digest(header.encode(), state.identity_header.encode()):
        raise ManagedIdentityError(401, "The X-IDENTITY-HEADER header is missing or does not match IDENTITY_HEADER.")
    if query.get("api-version") != API_VERSION:
        raise ManagedIdentityError(400, f"api-version must be {API_VERSION}.")
    resource_name = query.get("resource")
    if not resource_name:
        raise ManagedIdentityError(400, "The 'resource' parameter is required.")
    selectors = {k: query[k] for k in ("client_id", "principal_id", "object_id", "mi_res_id") if query.get(k)}
    if len(selectors) > 1:
        raise ManagedIdentityError(400, "Give at most one of client_id, principal_id (object_id) and mi_res_id.")
    with state.lock:
        mi = state.directory.managed_identity(
            client_id=selectors.get("client_id"),
            principal_id=selectors.get("principal_id") or selectors.get("object_id"),
            resource_id=selectors.get("mi_res_id"),
        )
        if mi is None:
            raise ManagedIdentityError(400, "No managed identity matches the request (is it assigned to the app?).")
        requested = resource_name.removesuffix("/.default")
        resource = state.directory.resource(mi.tenant_id, requested)
        if resource is None:
            raise ManagedIdentityError(400, f"AADSTS500011: The resource principal named {requested} was not found "
                                       f"in the tenant named {mi.tenant_id}.")
        caller = caller_for_managed_identity(mi)
        roles = mi.application_grants.get(resource.client_id, [])
        token, expires_in = state.issuer.access_token(resource, requested, caller, roles=roles)
        now = int(state.clock.now())
    return {
        "access_token": token,
        "expires_on": str(now + expires_in),
        "not_before": str(now),
        "resource": resource_name,
        "token_type": "Bearer",
        "client_id": mi.client_id,
    }
