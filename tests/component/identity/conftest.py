"""The Entra ID stand-in over real https, and the registrations the identity tests share.

The stand-in fixtures (``identity_server``, ``identity``) are shared from tests/conftest.py. Registrations
get fresh ids per test, so tests never see each other's apps or consents.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from emulators.identity import IdentityStandIn
from tests.support import identity as stand_in_fixtures

# This suite's own stand-in (tests/support/identity.py): one per session, reset per test.
identity_server = stand_in_fixtures.identity_server
identity = stand_in_fixtures.identity


@pytest.fixture
def https(identity: IdentityStandIn) -> Iterator[httpx.Client]:
    """A plain HTTP client that trusts the stand-in's CA (and nothing else)."""
    context = ssl.create_default_context(cafile=identity.ca_path)
    with httpx.Client(verify=context, timeout=10.0) as client:
        yield client


@dataclass
class Registrations:
    """A booking API (delegated scope Booking.Start), its confidential middle tier role, a SPA,
    a Dataverse-like v1 resource, a daemon client and two users."""

    api: object
    api_secret: str
    spa: object
    dataverse: object
    dataverse_url: str
    daemon: object
    daemon_secret: str
    alice: object
    bob: object
    redirect_uri: str


@pytest.fixture
def registered(identity: IdentityStandIn) -> Registrations:
    from emulators.identity.directory import new_id

    suffix = new_id()[:8]
    dataverse_url = f"https://org-{suffix}.crm.example"
    dataverse = identity.add_app("Dataverse", identifier_uris=[dataverse_url], scopes=["user_impersonation"],
                                 app_roles=["Data.ReadWrite"], access_token_version=1)
    api = identity.add_app("Booking API", identifier_uris=[f"api://booking-{suffix}"], scopes=["Booking.Start"])
    api.delegated_grants[dataverse.client_id] = ["user_impersonation"]  # admin consent for the OBO leg
    redirect_uri = "http://localhost:8400/auth/callback"
    spa = identity.add_app("Ribbon SPA", public_client=True, redirect_uris=[redirect_uri])
    api.pre_authorized[spa.client_id] = ["Booking.Start"]
    daemon = identity.add_app("Daemon", application_grants={dataverse.client_id: ["Data.ReadWrite"]})
    alice = identity.add_user(f"alex.t.{suffix}@contoso.example", "Test User A")
    bob = identity.add_user(f"blake.t.{suffix}@contoso.example", "Test User B")
    return Registrations(api, api.add_secret(), spa, dataverse, dataverse_url, daemon, daemon.add_secret(),
                         alice, bob, redirect_uri)
