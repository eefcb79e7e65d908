"""``SESSION_AUTH=entra`` end to end: the app's handlers around a composition root configured for
entra mode, the Entra ID stand-in over https, the Dataverse emulator and the booking sandbox.

The stand-in's registrations mirror a real tenant: the session API (delegated scope
``Booking.Start``, a client secret, admin consent for Dataverse's ``user_impersonation``), the
ribbon's SPA, a Dataverse resource at the emulator's URL (v1 tokens, audience = the URL) and
two users. They are made once per session (identifier URIs are unique in the stand-in).
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.support import identity as stand_in_fixtures

# This suite's own stand-in (tests/support/identity.py): one per session, reset per test.
identity_server = stand_in_fixtures.identity_server
identity = stand_in_fixtures.identity


@dataclass
class Tenant:
    api: Any
    api_secret: str
    api_uri: str
    spa: Any
    crm: Any
    alice: Any
    bob: Any


@pytest.fixture(scope="session")
def tenant(identity_server: Any, dataverse_server: Any) -> Tenant:  # noqa: F811
    from emulators.identity.directory import new_id

    suffix = new_id()[:8]
    crm = identity_server.add_app("Dataverse", identifier_uris=[dataverse_server.url], scopes=["user_impersonation"],
                                  access_token_version=1)
    api_uri = f"api://booking-sessions-{suffix}"
    api = identity_server.add_app("Booking sessions API", identifier_uris=[api_uri], scopes=["Booking.Start", "Other.Read"],
                                  app_roles=["Booking.Admin"])
    api.delegated_grants[crm.client_id] = ["user_impersonation"]  # admin consent for the on-behalf-of leg
    spa = identity_server.add_app("Ribbon", public_client=True, redirect_uris=["https://org.example/cb"])
    api.pre_authorized[spa.client_id] = ["Booking.Start", "Other.Read"]
    alice = identity_server.add_user(f"alex.s.{suffix}@contoso.example", "Session User A")
    bob = identity_server.add_user(f"blake.s.{suffix}@contoso.example", "Session User B")
    return Tenant(api, api.add_secret(), api_uri, spa, crm, alice, bob)


@pytest.fixture
def entra_env(booking_env: dict[str, str], identity: Any, tenant: Tenant) -> dict[str, str]:  # noqa: F811
    booking_env.update({
        "SESSION_AUTH": "entra",
        "ENTRA_AUTHORITY": identity.url,
        "ENTRA_TENANT_ID": identity.tenant_id,
        "SESSION_API_AUDIENCE": f"{tenant.api_uri} {tenant.api.client_id}",
        "ENTRA_CLIENT_ID": tenant.api.client_id,
        "ENTRA_CLIENT_SECRET": tenant.api_secret,
    })
    return booking_env


@pytest.fixture
def entra_root(entra_env: dict[str, str], identity: Any) -> Iterator[Any]:  # noqa: F811
    """The app's composition root in entra mode; its token validator trusts the stand-in's CA
    (msal trusts it through REQUESTS_CA_BUNDLE, set by ``identity``)."""
    from entry.composition_root import CompositionRoot

    yield CompositionRoot(entra_env, entra_options={"verify": ssl.create_default_context(cafile=identity.ca_path)})


@pytest.fixture
def user_token(identity: Any, tenant: Tenant):  # noqa: F811
    def mint(user: Any = None, scopes: tuple[str, ...] = ("Booking.Start",), **options: Any) -> str:
        return identity.mint_user_token(user or tenant.alice, tenant.api.client_id, list(scopes),
                                        client_id=tenant.spa.client_id, **options)

    return mint
