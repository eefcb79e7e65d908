"""Async client for the booking system's API (docs/spec.md#3-the-booking-api-the-app-calls): ask for a booking session."""

from booking_client.client import BookingClient
from booking_client.models import CrmReference, Customer, Session, SessionRequest
from booking_client.retry import RetryPolicy

__all__ = ["BookingClient", "CrmReference", "Customer", "RetryPolicy", "Session", "SessionRequest"]
