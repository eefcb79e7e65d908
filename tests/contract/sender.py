"""A booking system sending Standard Webhooks, signed with the `standardwebhooks` package."""

from __future__ import annotations

import json
import secrets
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
from standardwebhooks import Webhook

ROUTE = "/api/webhooks/appointments"


def new_secret() -> str:
    import base64

    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def event(kind: str = "appointment.created", **data: Any) -> dict[str, Any]:
    """A docs/spec.md#23-post-apiwebhooksappointments event; `data` overrides the defaults (None removes a field)."""
    body: dict[str, Any] = {
        "appointmentId": "apt_" + secrets.token_hex(4),
        "status": "scheduled",
        "updatedAt": "2026-01-15T14:03:20Z",
        "start": "2026-01-20T15:00:00-05:00",
        "end": "2026-01-20T15:30:00-05:00",
        "subject": "Mortgage consultation",
        "location": "Downtown branch",
        "notes": "Bring last three payslips",
        "customer": {"firstName": "Ana", "lastName": "Diaz", "email": "ana@example.com", "phone": "+15555550100"},
        "sessionId": "sess_123",
        "staff": {"email": "advisor@bank.example"},
    }
    body.update(data)
    body = {k: v for k, v in body.items() if v is not None}
    return {"type": kind, "timestamp": "2026-01-15T14:03:22Z", "data": body}


class Sender:
    def __init__(self, app_url: str, secret: str) -> None:
        self.url = app_url + ROUTE
        self.webhook = Webhook(secret)
        self.http = httpx.Client(timeout=30)

    def close(self) -> None:
        self.http.close()

    def headers(self, body: bytes, msg_id: str | None = None, at: datetime | None = None) -> dict[str, str]:
        msg_id = msg_id or "msg_" + secrets.token_hex(8)
        at = at or datetime.now(timezone.utc)
        return {
            "content-type": "application/json",
            "webhook-id": msg_id,
            "webhook-timestamp": str(int(at.timestamp())),
            "webhook-signature": self.webhook.sign(msg_id, at, body.decode("utf-8")),
        }

    def send(self, payload: dict[str, Any] | bytes, *, msg_id: str | None = None,
             skew: timedelta = timedelta(0)) -> httpx.Response:
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        at = datetime.now(timezone.utc) + skew
        return self.http.post(self.url, content=body, headers=self.headers(body, msg_id, at))

    def send_raw(self, body: bytes, headers: dict[str, str]) -> httpx.Response:
        return self.http.post(self.url, content=body, headers=headers)
