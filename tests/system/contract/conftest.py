"""The product as an outsider meets it: the app over real HTTP (DevHost), Dataverse and the
booking system as the emulators behind it, webhooks signed like a real sender.

One app host per module with the usual settings; tests that vary settings start their own
(tests.support.apphost.start_host with tests.system.contract.stage.base_settings).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.support import loopback
from tests.support.apphost import start_host, stop_host
from tests.support.booking import QUICK_DELIVERY, clean_sandbox, running_sandbox
from tests.support.webhooks import Sender
from tests.system.contract.dataverse_admin import DataverseAdmin
from tests.system.contract.stage import API_KEY, WEBHOOK_SECRET, base_settings


@pytest.fixture(scope="session")
def booking_system() -> Iterator[Any]:
    with running_sandbox(API_KEY, WEBHOOK_SECRET, **QUICK_DELIVERY) as sandbox:
        yield sandbox


@pytest.fixture
def booking(booking_system: Any) -> Any:
    return clean_sandbox(booking_system, api_key=API_KEY, webhook_secret=WEBHOOK_SECRET)


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
    with loopback.client(base_url=app.url, timeout=60) as http:
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
