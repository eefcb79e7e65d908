"""Shared fixtures: the Dataverse emulator and the booking sandbox on ephemeral loopback ports, and app
settings. (The Entra ID stand-in's fixtures are in tests/support/identity.py: each suite binds its own.)

The emulator runs once per test session in a background thread; ``dataverse`` hands each
test a clean one (rows back to the seed, request log and faults cleared).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from entry.composition_root import CompositionRoot

if str(Path(__file__).resolve().parent.parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.support.booking import SANDBOX_API_KEY, clean_sandbox, running_sandbox  # noqa: E402
from tests.support.settings import VERSION_COLUMN, settings_for  # noqa: E402

pytest_plugins = ("tests.log_privacy_plugin",)  # fails the run if any log record holds personal data or a secret

# httpx logs every request URL at INFO. The app turns that off (entry/composition_root.py); the
# tests' own httpx clients get the same, whichever suite runs first, so the privacy scan judges
# the product's logs and not the URLs the tests send on purpose.
for _name in ("httpx", "httpcore"):
    logging.getLogger(_name).setLevel(logging.WARNING)


@pytest.fixture(scope="session")
def dataverse_server() -> Iterator["object"]:
    from emulators.dataverse import DataverseEmulator

    with DataverseEmulator(custom_columns={"appointment": {VERSION_COLUMN: "string"}}) as emulator:
        yield emulator


@pytest.fixture
def dataverse(dataverse_server):
    """A clean Dataverse emulator for this test."""
    dataverse_server.reset()
    return dataverse_server


@pytest.fixture
def app_settings(dataverse) -> dict[str, str]:
    """The function app's settings, pointing at the emulator (booking API set by tests that need it).

    A plain mapping, never written to ``os.environ``: in-process tests hand it to a
    composition root (``app_root``), which reads it at every call, so a test may change a
    value; tests through the dev host pass it as the host's settings.
    """
    return settings_for(dataverse.url)


@pytest.fixture
def app_root(app_settings: dict[str, str]) -> "CompositionRoot":
    """The app's composition root over ``app_settings``, with the clients' production options."""
    from entry.composition_root import CompositionRoot

    return CompositionRoot(app_settings)


# The booking sandbox, shared by every suite that calls the booking API.
@pytest.fixture(scope="session")
def booking_server() -> Iterator[Any]:
    with running_sandbox(SANDBOX_API_KEY) as sandbox:
        yield sandbox


@pytest.fixture
def sandbox(booking_server: Any) -> Any:
    """A clean booking sandbox for this test."""
    return clean_sandbox(booking_server, api_key=SANDBOX_API_KEY)


@pytest.fixture
def booking_env(app_settings: dict[str, str], sandbox: Any) -> dict[str, str]:
    """App settings pointing at both emulators (``app_root`` serves them)."""
    app_settings.update(settings_for(app_settings["DATAVERSE_URL"], sandbox, api_key=SANDBOX_API_KEY))
    return app_settings



# Azurite (the Azure Storage emulator), shared by every suite that needs the app's storage account.
@pytest.fixture(scope="session")
def azurite_server() -> Iterator[Any]:
    from tests.support.azurite import require_azurite, running_azurite

    require_azurite()
    with running_azurite() as azurite:
        yield azurite


@pytest.fixture
def azurite(azurite_server: Any) -> Any:
    """An empty storage account in Azurite for this test (no container, queue or table left over)."""
    from tests.support.azurite import clean_account

    clean_account(azurite_server)
    return azurite_server
