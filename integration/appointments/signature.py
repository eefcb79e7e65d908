"""Standard Webhooks verification of a delivery, on the raw bytes, before anything else.

The ``standardwebhooks`` package does the HMAC (constant-time) and the ±5 minute window;
this module adds what it leaves out: several secrets (rotation), a size limit checked
before any hashing, and malformed headers answered as 401 instead of crashing.
"""

from __future__ import annotations

import binascii
import re
from collections.abc import Iterable, Mapping

from standardwebhooks import Webhook, WebhookVerificationError

from integration.errors import PayloadTooLarge, SignatureRejected

MAX_BODY_BYTES = 256 * 1024
_TIMESTAMP = re.compile(r"^[0-9]{1,12}$")


def check_size(body: bytes) -> None:
    if len(body) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"The body has {len(body)} bytes; the limit is {MAX_BODY_BYTES}.")


def verify_delivery(body: bytes, headers: Mapping[str, str], secrets: Iterable[str]) -> str:
    """Accept the delivery if any configured secret signed it; return its ``webhook-id``."""
    lowered = {name.lower(): value for name, value in headers.items()}
    message_id = lowered.get("webhook-id", "")
    timestamp = lowered.get("webhook-timestamp", "")
    if not (message_id and timestamp and lowered.get("webhook-signature")):
        raise SignatureRejected("The webhook-id, webhook-timestamp and webhook-signature headers are required.")
    if not _TIMESTAMP.match(timestamp):
        raise SignatureRejected("webhook-timestamp must be integer Unix seconds.")
    stale = False
    for secret in secrets:
        try:
            Webhook(secret).verify(body, lowered, json_parse=False)
            return message_id
        except WebhookVerificationError as exc:
            stale = stale or "timestamp" in str(exc)
        except (ValueError, binascii.Error):  # malformed signature entry or non-UTF-8 body
            break
    if stale:
        raise SignatureRejected("webhook-timestamp is outside the 5 minute tolerance.")
    raise SignatureRejected("No webhook-signature entry matches a configured secret.")
