"""The fault suite's stage: the real app in the DevHost, the Dataverse emulator's scripted faults, the booking sandbox.

Everything goes over real HTTP on loopback. The only change from production is the Dataverse
client's clock, passed to the app's composition root: a 0.5 s read timeout and millisecond
backoff (same attempts, same 20 s budget, same respect for Retry-After), so a hang or a reset
costs the suite a second, not half a minute.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from tests.support import loopback
from tests.support.apphost import serving_app
from tests.support.booking import clean_sandbox, running_sandbox
from tests.support.settings import VERSION_COLUMN, WEBHOOK_SECRET, settings_for

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

    A request interrupted by ``reset()`` never reaches the new request log (the emulator logs a
    request only in the generation it began in; see test_emulator_isolation.py), so nothing
    needs to wait for it.
    """
    yield
    dataverse.reset()


@pytest.fixture(scope="session")
def booking_server() -> Iterator[Any]:
    with running_sandbox(SANDBOX_API_KEY, WEBHOOK_SECRET, retry_delays=(0.05,) * 6, max_retry_after=0.1,
                         delivery_timeout=5.0) as sandbox:
        yield sandbox


@pytest.fixture
def sandbox(booking_server: Any) -> Any:
    return clean_sandbox(booking_server, api_key=SANDBOX_API_KEY, webhook_secret=WEBHOOK_SECRET)


@pytest.fixture
def host_settings(app_settings: dict[str, str], sandbox: Any) -> dict[str, str]:
    return settings_for(app_settings["DATAVERSE_URL"], sandbox, api_key=SANDBOX_API_KEY, version_column=VERSION_COLUMN)


@pytest.fixture
def host(host_settings: dict[str, str]) -> Iterator[Any]:
    """The function app served by the DevHost on an ephemeral loopback port."""
    with serving_app(host_settings, function_app=quick_app()) as served:
        yield served


@pytest.fixture
async def http(host: Any) -> AsyncIterator[httpx.AsyncClient]:
    """A client for the DevHost that sends the function key."""
    async with loopback.async_client(
        base_url=host.url, headers={"x-functions-key": host.keys.default_key}, timeout=30
    ) as client:
        yield client
