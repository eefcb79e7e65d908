"""Standard Webhooks verification of a delivery, on the raw bytes, before anything else.

HMAC-SHA256 over ``{webhook-id}.{webhook-timestamp}.{body}`` with each configured secret
(several during a rotation), compared in constant time with every ``v1`` entry of
``webhook-signature``; the timestamp must be within ±5 minutes. Done here rather than with
the ``standardwebhooks`` package because that package decodes the body as UTF-8 first, so
a correctly signed body that is not UTF-8 would look forged instead of malformed (400).
The package still signs the sandbox's deliveries and checks this module in the tests.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import time
from collections.abc import Iterable, Mapping

from integration.errors import PayloadTooLarge, SignatureRejected

MAX_BODY_BYTES = 256 * 1024
TOLERANCE_SECONDS = 5 * 60
_TIMESTAMP = re.compile(r"^[0-9]{1,12}$")
_SECRET_PREFIX = "whsec_"


def check_size(body: bytes) -> None:
    if len(body) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"The body has {len(body)} bytes; the limit is {MAX_BODY_BYTES}.")


def verify_delivery(body: bytes, headers: Mapping[str, str], secrets: Iterable[str], *, now: float | None = None) -> str:
    """Accept the delivery if any configured secret signed it; return its ``webhook-id``."""
    lowered = {name.lower(): value for name, value in headers.items()}
    message_id = lowered.get("webhook-id", "")
    timestamp = lowered.get("webhook-timestamp", "")
    signatures = _v1_signatures(lowered.get("webhook-signature", ""))
    if not (message_id and timestamp and lowered.get("webhook-signature")):
        raise SignatureRejected("The webhook-id, webhook-timestamp and webhook-signature headers are required.")
    if not _TIMESTAMP.match(timestamp):
        raise SignatureRejected("webhook-timestamp must be integer Unix seconds.")
    if abs((time.time() if now is None else now) - int(timestamp)) > TOLERANCE_SECONDS:
        raise SignatureRejected("webhook-timestamp is outside the 5 minute tolerance.")
    signed = f"{message_id}.{timestamp}.".encode() + body
    for key in _keys(secrets):
        expected = hmac.new(key, signed, hashlib.sha256).digest()
        if any(hmac.compare_digest(expected, candidate) for candidate in signatures):
            return message_id
    raise SignatureRejected("No webhook-signature entry matches a configured secret.")


def _v1_signatures(header: str) -> list[bytes]:
    """The decoded ``v1`` entries; entries of other versions or malformed ones are skipped."""
    found = []
    for entry in header.split():
        version, _, encoded = entry.partition(",")
        if version != "v1" or not encoded:
            continue
        try:
            found.append(base64.b64decode(encoded, validate=True))
        except (binascii.Error, ValueError):
            continue
    return found


def _keys(secrets: Iterable[str]) -> list[bytes]:
    keys = []
    for secret in secrets:
        encoded = secret[len(_SECRET_PREFIX):] if secret.startswith(_SECRET_PREFIX) else secret
        try:
            keys.append(base64.b64decode(encoded, validate=True))
        except (binascii.Error, ValueError):  # the settings check rejects these; never crash on one
            continue
    return keys
