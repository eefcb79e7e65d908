"""Sandbox booking system for development and tests (CONTRACT §3 API, booking page, signed webhooks).

Never deployed with the function app; shares no code with ``booking_client``.
"""

from .sandbox import BookingSandbox, new_webhook_secret

__all__ = ["BookingSandbox", "new_webhook_secret"]
