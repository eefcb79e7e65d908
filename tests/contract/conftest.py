"""The product as an outsider meets it: the app over real HTTP (DevHost), Dataverse and the
booking system as the emulators behind it, webhooks signed like a real sender.

One app host per module with the usual settings; tests that vary settings start their own.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.contract.dataverse_admin import DataverseAdmin
from tests.contract.sender import Sender, new_secret

ROOT = Path(__file__).resolve().parents[2]
API_KEY = "sandbox-api-key-7f3a9c"
WEBHOOK_SECRET = new_secret()
VERSION_COLUMN = "new_bookingversion"
SETTING_PREFIXES = ("DATAVERSE_", "BOOKING_", "APPOINTMENT_", "AZURE_")


@pytest.fixture(scope="session")
def booking_system() -> Iterator[Any]:
    from emulators.booking import BookingSandbox

    with BookingSandbox(api_key=API_KEY, webhook_secret=WEBHOOK_SECRET,
                             retry_delays=(0.05, 0.05), max_retry_after=0.2) as sandbox:
        yield sandbox


@pytest.fixture
def booking(booking_system: Any) -> Any:
    booking_system.reset()
    booking_system.api_key = API_KEY
    booking_system.webhook_secret = WEBHOOK_SECRET
    return booking_system


def base_settings(dataverse_url: str, booking_system: Any) -> dict[str, str]:
    return {
        "DATAVERSE_URL": dataverse_url,
        "DATAVERSE_AUTH": "none",
        "BOOKING_API_URL": booking_system.api_url,
        "BOOKING_API_KEY": API_KEY,
        "BOOKING_REDIRECT_URL": booking_system.redirect_template(),
        "BOOKING_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "BOOKING_SOURCE": "booking",
        "APPOINTMENT_VERSION_COLUMN": VERSION_COLUMN,
    }


def start_host(settings: dict[str, str]) -> Any:
    """A DevHost whose environment holds exactly these contract settings, no others.

    The environment is process-wide, so the other contract settings are set aside until
    `stop_host` (tests run one at a time).
    """
    from devhost import DevHost

    set_aside = {name: os.environ.pop(name) for name in list(os.environ) if name.startswith(SETTING_PREFIXES)}
    host = DevHost(ROOT, settings=settings)
    host.set_aside = set_aside
    try:
        host.start()
    except BaseException:
        os.environ.update(set_aside)
        raise
    return host


def stop_host(host: Any) -> None:
    host.stop()
    os.environ.update(host.set_aside)


@pytest.fixture(scope="module")
def app(dataverse_server: Any, booking_system: Any) -> Iterator[Any]:
    """The app with the usual settings, pointing at both emulators; the sandbox sends it webhooks."""
    host = start_host(base_settings(dataverse_server.url, booking_system))
    booking_system.webhook_url = host.url + "/api/webhooks/appointments"
    try:
        yield host
    finally:
        stop_host(host)


@pytest.fixture
def dv(dataverse: Any) -> Iterator[DataverseAdmin]:
    """A clean Dataverse, seen through its Web API."""
    admin = DataverseAdmin(dataverse.url)
    try:
        yield admin
    finally:
        admin.close()


@pytest.fixture
def client(app: Any) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=app.url, timeout=60) as http:
        yield http


@pytest.fixture
def key(app: Any) -> dict[str, str]:
    return {"x-functions-key": app.keys.default_key}


@pytest.fixture
def sender(app: Any, booking: Any) -> Iterator[Sender]:
    booking.webhook_url = app.url + "/api/webhooks/appointments"
    s = Sender(app.url, WEBHOOK_SECRET)
    try:
        yield s
    finally:
        s.close()
