"""docs/spec.md#3-the-booking-api-the-app-calls answers the app must cope with, from a scripted booking API on loopback
(answers the booking sandbox never gives): `expiresAt` null, wrong types, redirects."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from tests.support import loopback
from tests.support.apphost import start_host, stop_host
from tests.support.problems import problem
from tests.system.contract.stage import base_settings


class ScriptedBookingApi:
    """Answers every POST /api/sessions with the scripted (status, headers, body)."""

    def __init__(self) -> None:
        self.answer: tuple[int, dict[str, str], bytes] = (201, {}, b"{}")
        script = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                self.rfile.read(int(self.headers.get("content-length") or 0))
                status, headers, body = script.answer
                self.send_response(status)
                for name, value in {"content-type": "application/json", **headers}.items():
                    self.send_header(name, value)
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/api"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def scripted(dataverse_server, booking_system):
    api = ScriptedBookingApi()
    host = start_host({**base_settings(dataverse_server.url, booking_system), "BOOKING_API_URL": api.url})
    try:
        yield api, host
    finally:
        stop_host(host)
        api.close()


def ask(scripted, dv, answer: tuple[int, dict[str, str], bytes]) -> httpx.Response:
    api, host = scripted
    api.answer = answer
    lead = dv.create("leads", {"lastname": "Diaz", "subject": "x"})
    return loopback.post(host.url + "/api/booking-sessions", headers={"x-functions-key": host.keys.default_key},
                      json={"regarding": {"entity": "lead", "id": lead}}, timeout=30)


@pytest.mark.parametrize("status", [200, 201])
def test_null_expiry_is_passed_on_as_null(scripted, dv, status) -> None:
    answer = ask(scripted, dv, (status, {}, json.dumps({"sessionId": "s_1", "expiresAt": None}).encode()))
    assert answer.status_code == 201, answer.text
    assert answer.json()["sessionId"] == "s_1" and answer.json()["expiresAt"] is None


GARBAGE = {
    "number id": (201, {}, b'{"sessionId": 123, "expiresAt": null}'),
    "no id": (201, {}, b'{"expiresAt": null}'),
    "bad expiry": (201, {}, b'{"sessionId": "s_1", "expiresAt": "tomorrow"}'),
    "array": (201, {}, b"[]"),
    "html": (200, {"content-type": "text/html"}, b"<html>ok</html>"),
    "redirect": (302, {"location": "https://evil.example/sessions"}, b""),
    "202": (202, {}, b'{"sessionId": "s_1", "expiresAt": null}'),
}


@pytest.mark.parametrize("answer", GARBAGE.values(), ids=GARBAGE.keys())
def test_garbage_from_the_booking_api_is_502(scripted, dv, answer) -> None:
    problem(ask(scripted, dv, answer), 502)
