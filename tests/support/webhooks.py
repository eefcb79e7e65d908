"""Appointment webhooks as the booking system sends them: the event, its Standard Webhooks
signature (made with the `standardwebhooks` package, as a real sender would), and a sender
over HTTP. (tests/system/hostile/signing.py is the independent signer written from the spec.)"""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import itertools
import json
import secrets
import time
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
from standardwebhooks import Webhook

from tests.support import loopback
from tests.support.settings import WEBHOOK_SECRET

ROUTE = "/api/webhooks/appointments"
STAFF_EMAIL = "advisor@bank.example"
CUSTOMER = {"firstName": "Ana", "lastName": "Diaz", "email": "ana@example.com", "phone": "+15555550100"}

_ids = itertools.count(1)


def event(appointment_id: str = "apt_8412", *, type_: str = "appointment.created", **data: Any) -> dict[str, Any]:
    """An appointment event; ``data`` overrides the fields of ``data`` (None removes one)."""
    body: dict[str, Any] = {
        "appointmentId": appointment_id,
        "status": "scheduled",
        "updatedAt": "2026-01-15T14:03:20Z",
        "start": "2026-01-20T15:00:00-05:00",
        "end": "2026-01-20T15:30:00-05:00",
        "subject": "Mortgage consultation",
        "location": "Downtown branch",
        "notes": "Bring payslips",
        "customer": dict(CUSTOMER),
        "sessionId": "sess_123",
    }
    body.update(copy.deepcopy(data))
    return {"type": type_, "timestamp": "2026-01-15T14:03:22Z", "data": {k: v for k, v in body.items() if v is not None}}


def booking_event(kind: str = "appointment.created", **data: Any) -> dict[str, Any]:
    """An event as a booking system fills it: a fresh appointment id and the staff member, unless
    ``data`` says otherwise (None removes a field)."""
    fields: dict[str, Any] = {"appointmentId": "apt_" + secrets.token_hex(4), "notes": "Bring last three payslips",
                              "staff": {"email": STAFF_EMAIL}, **data}
    return event(fields.pop("appointmentId"), type_=kind, **fields)


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def signed_headers(
    body: bytes, *, secret: str = WEBHOOK_SECRET, msg_id: str | None = None, timestamp: float | None = None
) -> dict[str, str]:
    msg_id = msg_id or f"msg_{next(_ids)}"
    moment = datetime.fromtimestamp(time.time() if timestamp is None else timestamp, tz=timezone.utc)
    try:
        signature = Webhook(secret).sign(msg_id, moment, body.decode())
    except UnicodeDecodeError:  # the library signs text only; a sender may still sign any bytes
        key = base64.b64decode(secret.removeprefix("whsec_"))
        signed = f"{msg_id}.{int(moment.timestamp())}.".encode() + body
        signature = "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(moment.timestamp())),
        "webhook-signature": signature,
        "content-type": "application/json",
    }


def signed(payload: dict[str, Any], msg_id: str | None = None, secret: str = WEBHOOK_SECRET) -> tuple[bytes, dict[str, str]]:
    """The JSON body of ``payload`` and its signed headers."""
    body = json.dumps(payload).encode()
    return body, signed_headers(body, secret=secret, msg_id=msg_id)


class Sender:
    """Posts signed deliveries to the app at ``app_url`` over HTTP."""

    def __init__(self, app_url: str, secret: str) -> None:
        self.url = app_url + ROUTE
        self.secret = secret
        self.http = loopback.client(timeout=30)

    def close(self) -> None:
        self.http.close()

    def headers(self, body: bytes, msg_id: str | None = None, at: datetime | None = None) -> dict[str, str]:
        msg_id = msg_id or "msg_" + secrets.token_hex(8)
        at = at or datetime.now(timezone.utc)
        return signed_headers(body, secret=self.secret, msg_id=msg_id, timestamp=at.timestamp())

    def send(self, payload: dict[str, Any] | bytes, *, msg_id: str | None = None,
             skew: timedelta = timedelta(0)) -> httpx.Response:
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        at = datetime.now(timezone.utc) + skew
        return self.http.post(self.url, content=body, headers=self.headers(body, msg_id, at))

    def send_raw(self, body: bytes, headers: dict[str, str]) -> httpx.Response:
        return self.http.post(self.url, content=body, headers=headers)
