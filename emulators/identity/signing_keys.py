"""The token-signing keys: one active RSA key, older keys published until their overlap ends.

Entra ID publishes several keys at once and rolls them without notice; ``rotate`` makes a
new key the signing key and keeps the previous one in the JWKS for ``overlap`` seconds
(0 removes it at once, as in an emergency roll).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from .jws import b64url


@dataclass
class SigningKey:
    kid: str
    private_key: rsa.RSAPrivateKey
    certificate_der: bytes
    retired_at: float | None = None  # stand-in time after which it is no longer published

    def jwk(self, issuer_template: str) -> dict[str, object]:
        numbers = self.private_key.public_key().public_numbers()
        return {
            "kty": "RSA",
            "use": "sig",
            "kid": self.kid,
            "x5t": self.kid,
            "n": b64url(numbers.n.to_bytes((numbers.n.bit_length() + 7) // 8, "big")),
            "e": b64url(numbers.e.to_bytes((numbers.e.bit_length() + 7) // 8, "big")),
            "x5c": [base64.b64encode(self.certificate_der).decode("ascii")],
            "issuer": issuer_template,
        }


def new_signing_key() -> SigningKey:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "identity stand-in token signing")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=365))
        .sign(key, hashes.SHA256())
    )
    der = cert.public_bytes(serialization.Encoding.DER)
    # Entra ID's kid equals the certificate's x5t (base64url SHA-1 thumbprint).
    return SigningKey(kid=b64url(hashlib.sha1(der).digest()), private_key=key, certificate_der=der)  # noqa: S324


class SigningKeys:
    def __init__(self) -> None:
        self._keys: list[SigningKey] = [new_signing_key()]

    @property
    def active(self) -> SigningKey:
        return self._keys[-1]

    def published(self, now: float) -> list[SigningKey]:
        return [k for k in self._keys if k.retired_at is None or k.retired_at > now]

    def rotate(self, now: float, overlap: float) -> SigningKey:
        """A new active key; keys still published stay so for ``overlap`` more seconds at most."""
        for key in self.published(now):
            key.retired_at = now + max(0.0, overlap) if key.retired_at is None else min(key.retired_at, now + overlap)
        self._keys = self.published(now) + [new_signing_key()]
        return self.active

    def public_key(self, kid: str, now: float) -> rsa.RSAPublicKey | None:
        for key in self.published(now):
            if key.kid == kid:
                return key.private_key.public_key()
        return None
