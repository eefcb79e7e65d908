"""The whole app behind the DevHost over real HTTP, with the Dataverse emulator and the
booking sandbox behind it: hostile input meets exactly what a caller in Azure would meet.

The host lives for the package (starting it costs an import of the app); the emulator is
reset before every test, so request counts belong to that test alone.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from tests.support import loopback
from tests.support.apphost import serving_app
from tests.support.booking import clean_sandbox, running_sandbox
from tests.support.settings import VERSION_COLUMN, settings_for
from tests.system.hostile.routes import post
from tests.system.hostile.stage import AGENT_EMAIL, BOOKING_API_KEY, CURRENT_SECRET, KEYS, LEAD_ID, PREVIOUS_SECRET

# The test clients (schemathesis through urllib3, and httpx) log whole URLs, including the `code`
# values these tests send on purpose; those are test inputs, not the product's logs. (The app
# itself keeps httpx at WARNING: entry/composition_root.py.)
logging.getLogger("urllib3").setLevel(logging.INFO)
logging.getLogger("httpx").setLevel(logging.WARNING)


@pytest.fixture(scope="package")
def booking_sandbox() -> Iterator[Any]:
    with running_sandbox(BOOKING_API_KEY) as sandbox:
        yield sandbox


@pytest.fixture(scope="package")
def host(dataverse_server: Any, booking_sandbox: Any) -> Iterator[Any]:
    settings = settings_for(dataverse_server.url, booking_sandbox, api_key=BOOKING_API_KEY,
                            webhook_secret=f"{CURRENT_SECRET} {PREVIOUS_SECRET}", version_column=VERSION_COLUMN)
    with serving_app(settings, keys=KEYS) as running:
        yield running


@pytest.fixture
def dv(dataverse_server: Any, booking_sandbox: Any) -> Any:
    """A clean emulator holding the lead and the agent the spec's examples name."""
    dataverse_server.reset()
    clean_sandbox(booking_sandbox, api_key=BOOKING_API_KEY)
    dataverse_server.insert(
        "leads", {"leadid": LEAD_ID, "firstname": "Ana", "lastname": "Diaz", "emailaddress1": "ana@example.com"}
    )
    dataverse_server.insert(
        "systemusers", {"firstname": "Alex", "lastname": "Smith", "internalemailaddress": AGENT_EMAIL}
    )
    dataverse_server.clear_log()
    return dataverse_server


@pytest.fixture
def http(host: Any, dv: Any) -> Iterator[httpx.Client]:
    """A client for the app; function-key routes get the host's default key unless a test sends its own."""
    with loopback.client(base_url=host.url, timeout=30) as client:
        yield client


@pytest.fixture
def send(http: httpx.Client, host: Any) -> Callable[..., httpx.Response]:
    """POST a body to a route, authenticated as its legitimate caller would."""

    def send_body(route: str, body: bytes, content_type: str = "application/json") -> httpx.Response:
        return post(http, route, body, key=host.keys.default_key, secret=CURRENT_SECRET, content_type=content_type)

    return send_body
