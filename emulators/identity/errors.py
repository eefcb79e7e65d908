"""Errors in Entra ID's JSON shape: ``error``, ``error_description`` (``AADSTSnnnn: ...``), ``error_codes``."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any


@dataclass
class OAuthError(Exception):
    """An error answer of the token or authorize endpoint; ``status`` is the HTTP status."""

    status: int
    error: str
    code: int  # the AADSTS number
    message: str
    retry_after: int | None = None
    claims: str | None = None  # a Conditional Access claims challenge

    def __str__(self) -> str:
        return self.description

    @property
    def description(self) -> str:
        return f"AADSTS{self.code}: {self.message}"

    def body(self, correlation_id: str | None = None) -> dict[str, Any]:
        now = dt.datetime.now(dt.timezone.utc)
        trace_id = str(uuid.uuid4())
        correlation = correlation_id or str(uuid.uuid4())
        body: dict[str, Any] = {
            "error": self.error,
            "error_description": (
                f"{self.description} Trace ID: {trace_id} Correlation ID: {correlation} "
                f"Timestamp: {now:%Y-%m-%d %H:%M:%S}Z"
            ),
            "error_codes": [self.code],
            "timestamp": f"{now:%Y-%m-%d %H:%M:%S}Z",
            "trace_id": trace_id,
            "correlation_id": correlation,
            "error_uri": f"https://login.microsoftonline.com/error?code={self.code}",
        }
        if self.claims:
            body["claims"] = self.claims
        return body


def invalid_request(code: int, message: str) -> OAuthError:
    return OAuthError(400, "invalid_request", code, message)


def missing(parameter: str) -> OAuthError:
    return invalid_request(900144, f"The request body must contain the following parameter: '{parameter}'.")


def invalid_client(code: int, message: str) -> OAuthError:
    return OAuthError(401, "invalid_client", code, message)


def invalid_grant(code: int, message: str) -> OAuthError:
    return OAuthError(400, "invalid_grant", code, message)


def invalid_scope(code: int, message: str) -> OAuthError:
    return OAuthError(400, "invalid_scope", code, message)


def tenant_not_found(segment: str) -> OAuthError:
    return OAuthError(400, "invalid_tenant", 90002, f"Tenant '{segment}' not found. Check to make sure you have "
                      "the correct tenant ID and are signing into the correct cloud.")


def unknown_client(client_id: str, tenant_id: str) -> OAuthError:
    return OAuthError(400, "unauthorized_client", 700016, f"Application with identifier '{client_id}' was not "
                      f"found in the directory '{tenant_id}'.")
