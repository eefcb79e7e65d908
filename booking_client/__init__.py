"""Async client for the booking system's API (docs/spec.md#3-the-booking-api-the-app-calls): ask for a booking session.

The names below load on first use (PEP 562), so importing ``booking_client.errors`` does
not import httpx or pydantic: the HTTP layer maps these errors without slowing the app's
cold start.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from deferred_exports import deferred_exports

if TYPE_CHECKING:
    from booking_client.client import BookingClient
    from booking_client.models import CrmReference, Customer, Session, SessionRequest
    from http_retry import RetryPolicy

_HOMES = {
    "BookingClient": "booking_client.client",
    "CrmReference": "booking_client.models",
    "Customer": "booking_client.models",
    "Session": "booking_client.models",
    "SessionRequest": "booking_client.models",
    "RetryPolicy": "http_retry",
}

__all__ = sorted(_HOMES)
__getattr__ = deferred_exports(__name__, _HOMES)
