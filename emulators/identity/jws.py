"""Compact JWS (RFC 7515) signing and checking with ``cryptography`` alone.

The stand-in signs its tokens here rather than with PyJWT, so that the tests can use PyJWT
as an independent check of what it issues. Only what Entra ID uses: RS256 to sign; RS256
and PS256 (certificate client assertions) to check.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa


class MalformedToken(ValueError):
    """Not three base64url parts of JSON header, JSON object payload and signature."""


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign_rs256(header: dict[str, Any], claims: dict[str, Any], key: rsa.RSAPrivateKey) -> str:
    head = b64url(json.dumps({"typ": "JWT", "alg": "RS256", **header}, separators=(",", ":")).encode())
    body = b64url(json.dumps(claims, separators=(",", ":")).encode())
    signature = key.sign(f"{head}.{body}".encode("ascii"), padding.PKCS1v15(), hashes.SHA256())
    return f"{head}.{body}.{b64url(signature)}"


class UnverifiedToken:
    """A parsed compact JWS; ``verify(public_key)`` checks the signature for the header's ``alg``."""

    def __init__(self, token: str) -> None:
        parts = token.split(".")
        if len(parts) != 3:
            raise MalformedToken("a JWT has three parts")
        try:
            self.header = json.loads(b64url_decode(parts[0]))
            self.claims = json.loads(b64url_decode(parts[1]))
            self.signature = b64url_decode(parts[2])
        except (ValueError, UnicodeDecodeError) as exc:
            raise MalformedToken("not base64url JSON") from exc
        if not isinstance(self.header, dict) or not isinstance(self.claims, dict):
            raise MalformedToken("header and payload must be JSON objects")
        self.signing_input = f"{parts[0]}.{parts[1]}".encode("ascii")

    @property
    def alg(self) -> str:
        return str(self.header.get("alg", ""))

    def verify(self, public_key: Any) -> bool:
        if not isinstance(public_key, rsa.RSAPublicKey):
            return False
        if self.alg == "RS256":
            scheme: padding.AsymmetricPadding = padding.PKCS1v15()
        elif self.alg == "PS256":
            scheme = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.AUTO)
        else:
            return False  # "none", HS256 and anything else never verify
        try:
            public_key.verify(self.signature, self.signing_input, scheme, hashes.SHA256())
        except InvalidSignature:
            return False
        return True
