"""A sample app served by the devhost on an ephemeral port, with known keys."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from devhost import DevHost
from tests.component.devhost.sample_app import KEYS, write_sample_app
from tests.support import loopback


@pytest.fixture(scope="module")
def sample_host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevHost]:
    host = DevHost(write_sample_app(tmp_path_factory.mktemp("sample-app")), keys=KEYS,
                   max_body_bytes=1024 * 1024).start()
    try:
        yield host
    finally:
        host.stop()


@pytest.fixture
def client(sample_host: DevHost) -> Iterator[httpx.Client]:
    with loopback.client(base_url=sample_host.url, timeout=10) as http:
        yield http
