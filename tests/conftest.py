"""Shared fixtures: the Dataverse emulator on an ephemeral loopback port, and app settings.

The emulator runs once per test session in a background thread; ``dataverse`` hands each
test a clean one (rows back to the seed, request log and faults cleared).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

if str(Path(__file__).resolve().parent.parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.support.settings import VERSION_COLUMN, set_app_environment, settings_for  # noqa: E402

pytest_plugins = ("tests.log_privacy_plugin",)  # fails the run if any log record holds personal data or a secret

# httpx logs every request URL at INFO. The app turns that off (integration/clients.py); the
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
def app_settings(monkeypatch: pytest.MonkeyPatch, dataverse) -> dict[str, str]:
    """Environment for the function app, pointing at the emulator (booking API set by tests that need it)."""
    values = settings_for(dataverse.url)
    set_app_environment(monkeypatch, values)
    return values
