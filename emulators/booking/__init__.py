"""Sandbox booking system for development and tests (the session API of docs/spec.md#3-the-booking-api-the-app-calls, a booking page, signed webhooks).

Never deployed with the function app; shares no code with ``booking_client``.
"""

from .sandbox import BookingSandbox, new_webhook_secret

__all__ = ["BookingSandbox", "new_webhook_secret"]
