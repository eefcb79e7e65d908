"""A sample app served by the devhost on an ephemeral port, with known keys."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from devhost import DevHost, HostKeys
from tests.devhost.sample_app import write_sample_app

KEYS = HostKeys.model_validate({
    "masterKey": "master-key-0123456789abcdef",
    "hostKeys": {"default": "host-key-0123456789abcdef"},
    "functionKeys": {"sync_echo": {"default": "sync-echo-key-0123456789"}},
})


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
    with httpx.Client(base_url=sample_host.url, timeout=10) as http:
        yield http
