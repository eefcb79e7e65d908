"""The Entra ID stand-in over https, as pytest fixtures.

Each suite that needs it binds these in its own conftest (``from tests.support.identity import
identity, identity_server``), so each suite gets its own stand-in: suites register their own
apps, and identifier URIs are unique in a tenant.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from emulators.identity import IdentityStandIn


@pytest.fixture(scope="session")
def identity_server() -> Iterator[IdentityStandIn]:
    with IdentityStandIn() as stand_in:
        yield stand_in


@pytest.fixture
def identity(identity_server: IdentityStandIn, monkeypatch: pytest.MonkeyPatch) -> IdentityStandIn:
    """A reset stand-in whose CA msal and azure-identity (requests) trust through REQUESTS_CA_BUNDLE."""
    identity_server.reset()
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", identity_server.ca_path)
    return identity_server
