"""An httpx client on the shared emulator's Web API root (fixtures from tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.support import loopback


@pytest.fixture(scope="session")
def _session_client(dataverse_server) -> Iterator[httpx.Client]:
    """One client for the whole suite: building an httpx client (TLS context) costs more than a test."""
    with loopback.client(base_url=f"{dataverse_server.url}/api/data/v9.2/", timeout=10) as client:
        yield client


@pytest.fixture
def api(dataverse, _session_client: httpx.Client) -> httpx.Client:
    """The Web API root of a freshly reset emulator."""
    return _session_client
