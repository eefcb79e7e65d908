"""Async client for the booking system's API (CONTRACT §3): ask for a booking session."""

from booking_client.client import BookingClient
from booking_client.models import CrmReference, Customer, Session, SessionRequest
from http_retry import RetryPolicy

__all__ = ["BookingClient", "CrmReference", "Customer", "RetryPolicy", "Session", "SessionRequest"]
