"""End-to-end fixtures: the app's handlers, the Dataverse emulator and the booking sandbox over loopback."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.booking import SANDBOX_API_KEY, clean_sandbox, running_sandbox
from tests.support.settings import settings_for


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
