"""Builders for signed appointment deliveries, as the booking system would send them."""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import itertools
import json
import time
from datetime import datetime, timezone
from typing import Any

import azure.functions as func
from standardwebhooks import Webhook

from tests.conftest import WEBHOOK_SECRET

_ids = itertools.count(1)


def event(appointment_id: str = "apt_8412", *, type_: str = "appointment.created", **data: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "appointmentId": appointment_id,
        "status": "scheduled",
        "updatedAt": "2026-01-15T14:03:20Z",
        "start": "2026-01-20T15:00:00-05:00",
        "end": "2026-01-20T15:30:00-05:00",
        "subject": "Mortgage consultation",
        "location": "Downtown branch",
        "notes": "Bring payslips",
        "customer": {"firstName": "Ana", "lastName": "Diaz", "email": "ana@example.com", "phone": "+15555550100"},
        "sessionId": "sess_123",
    }
    body.update(copy.deepcopy(data))
    return {"type": type_, "timestamp": "2026-01-15T14:03:22Z", "data": {k: v for k, v in body.items() if v is not None}}


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


def request(body: bytes | dict[str, Any], headers: dict[str, str] | None = None) -> func.HttpRequest:
    """A real Functions request; signed with the test secret unless ``headers`` are given."""
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return func.HttpRequest(
        method="POST",
        url="http://127.0.0.1/api/webhooks/appointments",
        headers=signed_headers(raw) if headers is None else headers,
        body=raw,
    )
