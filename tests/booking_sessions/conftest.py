"""End-to-end fixtures: the app's handlers, the Dataverse emulator and the booking sandbox over loopback."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.booking_sessions.app_calls import BOOKING_API_KEY


@pytest.fixture(scope="session")
def booking_server() -> Iterator[Any]:
    from emulators.booking import BookingSandbox

    with BookingSandbox(api_key=BOOKING_API_KEY) as sandbox:
        yield sandbox


@pytest.fixture
def sandbox(booking_server: Any) -> Any:
    """A clean booking sandbox for this test."""
    booking_server.reset()
    booking_server.api_key = BOOKING_API_KEY
    return booking_server


@pytest.fixture
def booking_env(app_settings: dict[str, str], sandbox: Any) -> dict[str, str]:
    """App settings pointing at both emulators (``app_root`` serves them)."""
    app_settings.update({
        "BOOKING_API_URL": sandbox.api_url,
        "BOOKING_API_KEY": BOOKING_API_KEY,
        "BOOKING_REDIRECT_URL": sandbox.redirect_template(),
    })
    return app_settings
