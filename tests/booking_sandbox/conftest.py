"""A booking sandbox per module (reset per test) and a tiny webhook receiver that keeps raw bytes."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from emulators.booking import BookingSandbox

API_KEY = "test-api-key"
SECRET = "whsec_c2FuZGJveC10ZXN0LXNlY3JldC0wMTIzNDU2Nzg5YWJj"  # test-only
LEAD_ID = "0f8fad5b-d9cb-469f-a165-70867728950e"


def session_body(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "appointmentId": None,
        "customer": {"firstName": "Ana", "lastName": "Diaz", "email": "ana@example.com", "phone": "+15555550100"},
        "crmReference": {"entity": "lead", "id": LEAD_ID},
    }
    body.update(changes)
    return body


class Receiver:
    """Records every delivery as received (headers, raw body) and answers from a plan (default 200)."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.plan: list[tuple[int, dict[str, str]]] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("content-length", "0")))
                with receiver._lock:
                    receiver.received.append(({k.lower(): v for k, v in self.headers.items()}, raw))
                    status, headers = receiver.plan.pop(0) if receiver.plan else (200, {})
                answer = json.dumps({"result": "created" if status == 200 else "error"}).encode()
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/api/webhooks/appointments"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    def answer_next(self, status: int, headers: dict[str, str] | None = None) -> None:
        with self._lock:
            self.plan.append((status, headers or {}))

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


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
    sandbox = BookingSandbox(
        api_key=API_KEY,
        webhook_url=receiver_server.url,
        webhook_secret=SECRET,
        retry_delays=(0.05, 0.05, 0.05),
        delivery_timeout=2.0,
        max_retry_after=0.2,
    ).start()
    yield sandbox
    sandbox.stop()


@pytest.fixture
def sandbox(sandbox_server: BookingSandbox, receiver: Receiver) -> BookingSandbox:
    sandbox_server.reset()
    sandbox_server.api_key = API_KEY
    sandbox_server.webhook_url = receiver.url
    sandbox_server.webhook_secret = SECRET
    return sandbox_server


@pytest.fixture
def http(sandbox: BookingSandbox) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sandbox.url, timeout=5) as client:
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
