"""The fault suite's stage: the real app in the DevHost, the Dataverse emulator's scripted faults, the booking sandbox.

Everything goes over real HTTP on loopback. The only change from production is the Dataverse
client's clock, passed to the app's composition root: a 0.5 s read timeout and millisecond
backoff (same attempts, same 20 s budget, same respect for Retry-After), so a hang or a reset
costs the suite a second, not half a minute.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from tests.appointments.delivery import signed_headers
from tests.conftest import ROOT, WEBHOOK_SECRET
from tests.log_privacy_plugin import register_secret

SANDBOX_API_KEY = "faults-sandbox-key-91c2"  # test-only
CLIENT_TIMEOUT = 0.5
FAST_BACKOFF = dict(base_delay=0.01, max_delay=0.05)


def quick_app() -> Any:
    """The function app, its composition root giving the Dataverse client a short timeout and quick backoff.

    Settings still reach it through the environment, set by the DevHost as in a deployment.
    """
    from dataverse.transport import DEFAULT_RETRY
    from entry.composition_root import CompositionRoot
    from http_api import build_app

    return build_app(CompositionRoot(dataverse_options={
        "timeout": httpx.Timeout(CLIENT_TIMEOUT, connect=CLIENT_TIMEOUT),
        "retry": dataclasses.replace(DEFAULT_RETRY, **FAST_BACKOFF),  # same attempts and budget, quicker waits
    }))


@pytest.fixture
def release_hangs(dataverse: Any, host: Any) -> Iterator[None]:
    """After a test that scripted hangs: end the requests still hanging, before the DevHost stops.

    A hung request interrupted by ``reset()`` is logged after the log was cleared (see
    test_emulator_isolation.py), so this also waits for the interrupted ones to land now.
    """
    yield
    dataverse.reset()
    time.sleep(0.15)


@pytest.fixture(scope="session")
def booking_server() -> Iterator[Any]:
    from emulators.booking import BookingSandbox

    with BookingSandbox(
        api_key=SANDBOX_API_KEY, webhook_secret=WEBHOOK_SECRET, retry_delays=(0.05,) * 6, max_retry_after=0.1,
        delivery_timeout=5.0,
    ) as sandbox:
        yield sandbox


@pytest.fixture
def sandbox(booking_server: Any) -> Any:
    booking_server.reset()
    booking_server.api_key = SANDBOX_API_KEY
    booking_server.webhook_secret = WEBHOOK_SECRET
    return booking_server


@pytest.fixture
def host_settings(app_settings: dict[str, str], sandbox: Any) -> dict[str, str]:
    return {
        **app_settings,
        "BOOKING_API_URL": sandbox.api_url,
        "BOOKING_API_KEY": SANDBOX_API_KEY,
        "BOOKING_REDIRECT_URL": sandbox.redirect_template(),
        "APPOINTMENT_VERSION_COLUMN": "new_bookingversion",
    }


@pytest.fixture
def host(host_settings: dict[str, str]) -> Iterator[Any]:
    """The function app served by the DevHost on an ephemeral loopback port."""
    from devhost import DevHost

    with DevHost(app_dir=ROOT, settings=host_settings, function_app=quick_app()) as served:
        for key in (served.keys.master_key, *served.keys.host_keys.values()):
            register_secret(key)
        yield served


@pytest.fixture
async def http(host: Any) -> AsyncIterator[httpx.AsyncClient]:
    """A client for the DevHost that sends the function key."""
    async with httpx.AsyncClient(
        base_url=host.url, headers={"x-functions-key": host.keys.default_key}, timeout=30
    ) as client:
        yield client


def signed(event: dict[str, Any], msg_id: str | None = None) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(event).encode()
    return body, signed_headers(body, msg_id=msg_id)


def retry_after(response: httpx.Response) -> int:
    """The Retry-After of a problem answer, checked against the body's copy."""
    assert response.headers["content-type"].startswith("application/problem+json"), response.text
    seconds = int(response.headers["Retry-After"])
    assert seconds >= 1 and response.json()["retryAfter"] == seconds
    return seconds
