"""The Dataverse emulator in `--auth entra` mode, trusting a real Entra ID stand-in over https.

One stand-in (the identity tests' fixtures) and one secured emulator run per session; each test
gets both reset and its own registrations (fresh ids), so tests never see each other's users. Tokens come from the stand-in's
token endpoint through msal, unpatched: client credentials for application users, on-behalf-of
(a middle tier trading a user's token) for users.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import msal
import pytest

from emulators.dataverse import DataverseEmulator
from emulators.identity import IdentityStandIn
from emulators.identity.directory import User
from tests.support import identity as stand_in_fixtures

# This suite's own stand-in (tests/support/identity.py): one per session, reset per test.
identity_server = stand_in_fixtures.identity_server
identity = stand_in_fixtures.identity


@pytest.fixture(scope="session")
def secured_server(identity_server: IdentityStandIn) -> Iterator[DataverseEmulator]:
    emulator = DataverseEmulator(auth="entra", authority=identity_server.authority(),
                                 authority_ca=identity_server.ca_path)
    emulator.start()
    # Dataverse's registration: v1.0 tokens whose audience is the environment URL.
    identity_server.add_app("Dataverse (emulator)", identifier_uris=[emulator.url], scopes=["user_impersonation"],
                            app_roles=["Data.ReadWrite"], access_token_version=1)
    yield emulator
    emulator.stop()


@pytest.fixture
def secured(secured_server: DataverseEmulator, identity: IdentityStandIn) -> DataverseEmulator:
    secured_server.reset()
    return secured_server


@pytest.fixture(scope="session")
def web() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10) as client:
        yield client


@dataclass
class Principal:
    """Someone with a token for the emulator and a systemuser in it."""

    user_id: str  # systemuserid
    token: str
    person: User | None = None  # the stand-in's user behind a delegated token

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


class Tokens:
    """Gets real tokens for the emulator from the stand-in, through msal."""

    def __init__(self, idp: IdentityStandIn, emulator: DataverseEmulator) -> None:
        self.idp = idp
        self.emulator = emulator
        self.middle_tier = idp.add_app("Booking API", identifier_uris=[f"api://booking-{_suffix()}"],
                                       scopes=["Booking.Start"])
        self.middle_tier_secret = self.middle_tier.add_secret()
        resource = idp.state.directory.resource(idp.tenant_id, emulator.url)
        self.middle_tier.delegated_grants[resource.client_id] = ["user_impersonation"]  # admin consent

    def user(self, name: str, access: str = "user", *, in_dataverse: bool = True) -> Principal:
        person = self.idp.add_user(f"{name}.{_suffix()}@contoso.example", name.title())
        user_id = self.emulator.add_user(person.oid, name.title(), access=access) if in_dataverse else ""
        return Principal(user_id, self.on_behalf_of(person), person)

    def on_behalf_of(self, person: object) -> str:
        incoming = self.idp.mint_user_token(person, self.middle_tier.client_id, ["Booking.Start"])
        app = msal.ConfidentialClientApplication(self.middle_tier.client_id, client_credential=self.middle_tier_secret,
                                                 authority=self.idp.authority(), instance_discovery=False)
        result = app.acquire_token_on_behalf_of(incoming, [f"{self.emulator.url}/user_impersonation"])
        assert "access_token" in result, result
        return result["access_token"]

    def application(self, name: str, access: str = "organization", *, in_dataverse: bool = True) -> Principal:
        resource = self.idp.state.directory.resource(self.idp.tenant_id, self.emulator.url)
        registration = self.idp.add_app(name, application_grants={resource.client_id: ["Data.ReadWrite"]})
        secret = registration.add_secret()
        user_id = self.emulator.add_application_user(registration.client_id, name, access=access) if in_dataverse else ""
        app = msal.ConfidentialClientApplication(registration.client_id, client_credential=secret,
                                                 authority=self.idp.authority(), instance_discovery=False)
        result = app.acquire_token_for_client([f"{self.emulator.url}/.default"])
        assert "access_token" in result, result
        return Principal(user_id, result["access_token"])


def _suffix() -> str:
    return uuid.uuid4().hex[:8]


@pytest.fixture
def tokens(identity: IdentityStandIn, secured: DataverseEmulator) -> Tokens:
    return Tokens(identity, secured)
