"""The booking sandbox sends real signed webhooks over HTTP; the app's handler receives them."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import azure.functions as func
import httpx
import pytest

from emulators.booking import BookingSandbox
from tests.appointments.conftest import STAFF_EMAIL, call_handler


class HandlerServer:
    """A loopback HTTP server that turns each POST into a Functions request for the webhook handler."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        loop = self.loop

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("content-length", "0")))
                req = func.HttpRequest("POST", self.path, headers=dict(self.headers.items()), body=raw)
                answer = asyncio.run_coroutine_threadsafe(call_handler(req), loop).result(timeout=30)
                body = json.dumps(answer.body).encode()
                self.send_response(answer.status)
                for name, value in answer.headers.items():
                    if name.lower() != "content-length":
                        self.send_header(name, value)
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/api/webhooks/appointments"
        self.threads = [
            threading.Thread(target=self.loop.run_forever, daemon=True),
            threading.Thread(target=self.server.serve_forever, daemon=True),
        ]

    def __enter__(self) -> "HandlerServer":
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.threads[0].join(5)
        self.loop.close()


@pytest.fixture
def sandbox(app_settings: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[BookingSandbox]:
    with HandlerServer() as receiver, BookingSandbox(webhook_url=receiver.url, retry_delays=(0.2,)) as booking:
        monkeypatch.setenv("BOOKING_WEBHOOK_SECRET", booking.webhook_secret)
        yield booking


def test_sandbox_booking_reaches_dataverse(sandbox: BookingSandbox, dataverse: Any) -> None:
    lead_id = dataverse.insert("leads", {"lastname": "Diaz", "emailaddress1": "ana@example.com", "subject": "Ribbon"})
    user_id = dataverse.insert("systemusers", {"lastname": "Advisor", "internalemailaddress": STAFF_EMAIL})
    session = httpx.post(
        f"{sandbox.api_url}/sessions",
        json={
            "appointmentId": None,
            "customer": {"firstName": "Ana", "lastName": "Diaz", "email": "ana@example.com", "phone": "+15555550100"},
            "crmReference": {"entity": "lead", "id": lead_id},
        },
        headers={"Idempotency-Key": "test-1"},
    ).json()

    appointment_id = sandbox.book(session["sessionId"], start="2030-01-02T15:00:00-05:00", subject="Mortgage", notes="hi")
    sandbox.cancel(appointment_id)
    assert sandbox.wait_for_deliveries(10)

    assert [d["status"] for d in sandbox.deliveries] == [200, 200]
    assert [d["answer"]["result"] for d in sandbox.deliveries] == ["created", "updated"]
    rows = dataverse.rows("appointments")
    assert len(rows) == 1
    row = rows[0]
    assert (row["subject"], row["scheduledstart"], row["statecode"]) == ("Mortgage", "2030-01-02T20:00:00Z", 2)
    assert row["_regardingobjectid_value"] == lead_id
    assert appointment_id in row["description"]
    organizers = [p for p in dataverse.rows("activityparties") if p["participationtypemask"] == 7]
    assert [p["_partyid_value"] for p in organizers] == [user_id]
