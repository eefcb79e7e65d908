"""PyJWT as the independent check of what the stand-in issues: signature against the published
JWKS (fetched over https), then issuer, audience and times."""

from __future__ import annotations

import ssl
from typing import Any

import jwt


def jwks_client(identity: Any, tenant_id: str | None = None) -> jwt.PyJWKClient:
    context = ssl.create_default_context(cafile=identity.ca_path)
    return jwt.PyJWKClient(identity.jwks_url(tenant_id), cache_jwk_set=False, ssl_context=context)


def verified_claims(identity: Any, token: str, *, audience: str, issuer: str | None = None) -> dict[str, Any]:
    key = jwks_client(identity).get_signing_key_from_jwt(token)
    return jwt.decode(
        token, key.key, algorithms=["RS256"], audience=audience, issuer=issuer or identity.issuer(),
        options={"require": ["exp", "iat", "nbf", "iss", "aud", "tid", "oid", "sub", "ver"]},
    )
