"""Standard Webhooks signatures written from the spec, independent of the library the app uses.

An independent signer is the oracle: if the app's verifier and this disagree on a valid
delivery, one of them misreads the spec and a test says so.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import time

_ids = itertools.count(1)


def secret_for(label: str) -> str:
    """A deterministic ``whsec_`` secret (32 bytes) per label: readable tests, no randomness."""
    return "whsec_" + base64.b64encode(hashlib.sha256(label.encode()).digest()).decode()


def signature(secret: str, msg_id: str, timestamp: int | str, body: bytes) -> str:
    key = base64.b64decode(secret.removeprefix("whsec_"))
    digest = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signed_headers(
    body: bytes, secret: str, *, msg_id: str | None = None, timestamp: int | None = None
) -> dict[str, str]:
    msg_id = msg_id or f"msg_hostile_{next(_ids)}"
    timestamp = int(time.time()) if timestamp is None else timestamp
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature(secret, msg_id, timestamp, body),
        "content-type": "application/json",
    }
