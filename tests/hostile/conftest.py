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

from tests.conftest import ROOT
from tests.hostile.routes import post
from tests.hostile.signing import secret_for

# The test clients (schemathesis through urllib3, and httpx) log whole URLs, including the `code`
# values these tests send on purpose; those are test inputs, not the product's logs. (The app
# itself keeps httpx at WARNING: entry/composition_root.py.)
logging.getLogger("urllib3").setLevel(logging.INFO)
logging.getLogger("httpx").setLevel(logging.WARNING)

CURRENT_SECRET = secret_for("current")
PREVIOUS_SECRET = secret_for("previous")  # still accepted: rotation in progress
RETIRED_SECRET = secret_for("retired")  # rotated out: must be refused
BOOKING_API_KEY = "hostile-suite-api-key"
LEAD_ID = "3f2b8c1e-5d4a-4e6f-9a7b-1c2d3e4f5a6b"  # the spec's example id; a real lead in the emulator
AGENT_EMAIL = "a.smith@contoso.com"  # the spec's example agent; a real systemuser in the emulator
KEYS = {
    "masterKey": "hostile-master-key",
    "hostKeys": {"default": "hostile-host-key"},
    "functionKeys": {"import_schedules": {"default": "hostile-import-key"}},
}


@pytest.fixture(scope="package")
def booking_sandbox() -> Iterator[Any]:
    from emulators.booking import BookingSandbox

    with BookingSandbox(api_key=BOOKING_API_KEY) as sandbox:
        yield sandbox


@pytest.fixture(scope="package")
def host(dataverse_server: Any, booking_sandbox: Any) -> Iterator[Any]:
    from devhost import DevHost

    settings = {
        "DATAVERSE_URL": dataverse_server.url,
        "DATAVERSE_AUTH": "none",
        "BOOKING_API_URL": booking_sandbox.api_url,
        "BOOKING_API_KEY": BOOKING_API_KEY,
        "BOOKING_REDIRECT_URL": booking_sandbox.redirect_template(),
        "BOOKING_WEBHOOK_SECRET": f"{CURRENT_SECRET} {PREVIOUS_SECRET}",
        "BOOKING_SOURCE": "booking",
        "APPOINTMENT_VERSION_COLUMN": "new_bookingversion",
    }
    with DevHost(ROOT, settings=settings, keys=KEYS) as running:
        yield running


@pytest.fixture
def dv(dataverse_server: Any, booking_sandbox: Any) -> Any:
    """A clean emulator holding the lead and the agent the spec's examples name."""
    dataverse_server.reset()
    booking_sandbox.reset()
    booking_sandbox.api_key = BOOKING_API_KEY
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
    with httpx.Client(base_url=host.url, timeout=30) as client:
        yield client


@pytest.fixture
def send(http: httpx.Client, host: Any) -> Callable[..., httpx.Response]:
    """POST a body to a route, authenticated as its legitimate caller would."""

    def send_body(route: str, body: bytes, content_type: str = "application/json") -> httpx.Response:
        return post(http, route, body, key=host.keys.default_key, secret=CURRENT_SECRET, content_type=content_type)

    return send_body
