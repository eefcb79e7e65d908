"""The sandbox suite's credentials, a session request body, and a tiny webhook receiver that keeps raw bytes."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

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
