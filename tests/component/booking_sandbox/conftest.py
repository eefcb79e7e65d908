"""A booking sandbox per module (reset per test) and a webhook receiver (tests/component/booking_sandbox/stage.py)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from emulators.booking import BookingSandbox
from tests.component.booking_sandbox.stage import API_KEY, SECRET, Receiver, session_body
from tests.support import loopback
from tests.support.booking import clean_sandbox, running_sandbox


@pytest.fixture(scope="module")
def receiver_server() -> Iterator[Receiver]:
    receiver = Receiver()
    yield receiver
    receiver.close()


@pytest.fixture
def receiver(receiver_server: Receiver) -> Receiver:
    receiver_server.received.clear()
    receiver_server.plan.clear()
    return receiver_server


@pytest.fixture(scope="module")
def sandbox_server(receiver_server: Receiver) -> Iterator[BookingSandbox]:
    with running_sandbox(API_KEY, SECRET, webhook_url=receiver_server.url, retry_delays=(0.05, 0.05, 0.05),
                         delivery_timeout=2.0, max_retry_after=0.2) as sandbox:
        yield sandbox


@pytest.fixture
def sandbox(sandbox_server: BookingSandbox, receiver: Receiver) -> BookingSandbox:
    return clean_sandbox(sandbox_server, api_key=API_KEY, webhook_secret=SECRET, webhook_url=receiver.url)


@pytest.fixture
def http(sandbox: BookingSandbox) -> Iterator[httpx.Client]:
    with loopback.client(base_url=sandbox.url, timeout=5) as client:
        yield client


@pytest.fixture
def open_session(http: httpx.Client):
    """Create a session over the API; returns its id."""

    def create(key: str = "key-1", **changes: Any) -> str:
        answer = http.post(
            "/api/sessions",
            json=session_body(**changes),
            headers={"Authorization": f"Bearer {API_KEY}", "Idempotency-Key": key},
        )
        assert answer.status_code == 201, answer.text
        return answer.json()["sessionId"]

    return create
