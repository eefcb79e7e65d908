"""``BookingSandbox``: the sandbox booking system as one object tests start, steer and stop."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta, tzinfo
from typing import Any

from tools.loopback_server import LoopbackServer

from .api import SessionsApi
from .app import build_app
from .bookings import Bookings
from .delivery import WebhookSender
from .slots import SlotPlan
from .state import State


def new_webhook_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


class BookingSandbox:
    """A booking system on 127.0.0.1: sessions API under ``url + "/api"``, page at ``/book``.

    ``webhook_secret`` defaults to a fresh random secret (read it back to configure the app);
    ``webhook_url`` and the secret may be changed after ``start()``.
    """

    def __init__(
        self,
        api_key: str | None = None,
        webhook_url: str | None = None,
        webhook_secret: str | None = None,
        *,
        port: int = 0,
        retry_delays: Sequence[float] = (1.0, 5.0, 30.0),
        delivery_timeout: float = 15.0,
        max_retry_after: float = 60.0,
        session_ttl: timedelta = timedelta(minutes=30),
        hang_seconds: float = 300.0,
        staff_email: str = "advisor@bank.example",
        zone: tzinfo | None = None,
    ) -> None:
        self.state = State()
        self.slots = SlotPlan() if zone is None else SlotPlan(zone=zone)
        self._sender = WebhookSender(
            self.state,
            url=webhook_url,
            secret=webhook_secret or new_webhook_secret(),
            retry_delays=retry_delays,
            timeout=delivery_timeout,
            max_retry_after=max_retry_after,
        )
        self.bookings = Bookings(self.state, self._sender, self.slots, staff_email)
        self.api = SessionsApi(self.state, api_key=api_key, session_ttl=session_ttl, hang_seconds=hang_seconds)
        self._server = LoopbackServer(build_app(self), port=port, name="booking-sandbox", timeout_graceful_shutdown=2)
        self.url = ""

    def start(self) -> "BookingSandbox":
        self.api.stopping = False
        self._sender.start()
        self._server.start()
        self.url = self._server.url
        return self

    def stop(self) -> None:
        self.api.stopping = True
        self._server.stop()
        self._sender.stop()

    def reset(self) -> None:
        """Forget sessions, appointments, logs, planned failures and pending deliveries; keep the configuration."""
        self.state.reset()
        self._sender.interrupt()

    def __enter__(self) -> "BookingSandbox":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def api_url(self) -> str:
        return self.url + "/api"

    def redirect_template(self) -> str:
        """The value for the app's BOOKING_REDIRECT_URL."""
        return self.url + "/book?session={sessionId}"

    @property
    def api_key(self) -> str | None:
        return self.api.api_key

    @api_key.setter
    def api_key(self, value: str | None) -> None:
        self.api.api_key = value

    @property
    def webhook_url(self) -> str | None:
        return self._sender.url

    @webhook_url.setter
    def webhook_url(self, value: str | None) -> None:
        self._sender.url = value

    @property
    def webhook_secret(self) -> str:
        return self._sender.secret

    @webhook_secret.setter
    def webhook_secret(self, value: str) -> None:
        self._sender.secret = value

    def fail_next(self, n: int, mode: str, retry_after: str | None = None) -> None:
        """The next ``n`` session requests fail with ``mode`` (see ``state.FAILURE_MODES``).

        ``retry_after`` is the raw ``Retry-After`` the throttling modes answer (default ``1``).
        """
        self.state.fail_next(n, mode, retry_after)

    @property
    def next_expires_at(self) -> list[str]:
        """Raw ``expiresAt`` values the next new sessions answer with, one each (any string)."""
        return self.state.next_expires_at

    @next_expires_at.setter
    def next_expires_at(self, values: list[str]) -> None:
        with self.state.lock:
            self.state.next_expires_at[:] = values

    @property
    def next_session_ids(self) -> list[str]:
        return self.state.next_session_ids

    @next_session_ids.setter
    def next_session_ids(self, ids: list[str]) -> None:
        with self.state.lock:
            self.state.next_session_ids[:] = ids

    @property
    def requests(self) -> list[dict[str, Any]]:
        with self.state.lock:
            return [dict(r) for r in self.state.requests]

    @property
    def sessions(self) -> dict[str, dict[str, Any]]:
        with self.state.lock:
            return {sid: s.snapshot() for sid, s in self.state.sessions.items()}

    @property
    def appointments(self) -> dict[str, dict[str, Any]]:
        with self.state.lock:
            return {aid: a.snapshot() for aid, a in self.state.appointments.items()}

    @property
    def deliveries(self) -> list[dict[str, Any]]:
        with self.state.lock:
            return [dict(d) for d in self.state.deliveries]

    @property
    def events(self) -> list[dict[str, Any]]:
        """Every event emitted (``webhook_id``, ``type``, ``payload``, ``body``), delivered or not."""
        with self.state.lock:
            return [dict(e) for e in self.state.events]

    def expire(self, session_id: str) -> None:
        with self.state.lock:
            self.state.sessions[session_id].expires_at = datetime.min.replace(tzinfo=self.slots.zone)

    def book(self, session_id: str, **details: Any) -> str:
        """Book (start=, end=, subject=, location=, notes=) as the page's Confirm would; returns the appointment id."""
        return self.bookings.book(session_id, **details)

    def reschedule(self, appointment_id: str, start: str | datetime, end: str | datetime | None = None) -> None:
        self.bookings.reschedule(appointment_id, start, end)

    def cancel(self, appointment_id: str) -> None:
        self.bookings.cancel(appointment_id)

    def complete(self, appointment_id: str) -> None:
        self.bookings.complete(appointment_id)

    def redeliver(self, webhook_id: str) -> None:
        self.bookings.redeliver(webhook_id)

    def wait_for_deliveries(self, timeout: float = 10.0) -> bool:
        """Block until every emitted event is delivered (or given up); False on timeout."""
        return self._sender.wait_idle(timeout)
