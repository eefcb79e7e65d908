"""The whole demo stack in this process, each server on an ephemeral loopback port.

Same wiring as ``make run`` (tools/run_stack.py): the Dataverse emulator with its demo data,
the booking sandbox signing webhooks to the devhost, and the devhost serving function_app.py
with settings pointing at both.
"""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass
from datetime import timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[2]
VERSION_COLUMN = "new_bookingversion"
# Slots offered at -05:00, so the timeline (UTC) proves the app converted the times.
BOOKING_ZONE = timezone(timedelta(hours=-5))


@dataclass
class DemoStack:
    dataverse: Any  # emulators.dataverse.DataverseEmulator
    booking: Any  # emulators.booking.BookingSandbox
    app: Any  # devhost.DevHost

    @property
    def function_key(self) -> str:
        return str(self.app.keys.default_key)

    def redirect_url(self, entity: str, record_id: str, code: str | None = None) -> str:
        query = {"entity": entity, "id": record_id, "code": self.function_key if code is None else code}
        return f"{self.app.url}/api/booking-sessions/redirect?{urlencode(query)}"

    def timeline_url(self, entity_set: str, record_id: str) -> str:
        return f"{self.dataverse.url}/_emulator/timeline/{entity_set}/{record_id}"

    def reset(self) -> None:
        """Demo rows back, sandbox sessions and deliveries forgotten; servers and settings kept."""
        self.dataverse.reset()
        self.booking.reset()

    def stop(self) -> None:
        self.app.stop()
        self.booking.stop()
        self.dataverse.stop()


def start_stack() -> DemoStack:
    from devhost import DevHost
    from emulators.booking import BookingSandbox
    from emulators.dataverse import DataverseEmulator

    api_key = secrets.token_urlsafe(16)
    secret = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
    dataverse = DataverseEmulator(custom_columns={"appointment": {VERSION_COLUMN: "string"}}, seed_demo=True).start()
    booking = BookingSandbox(api_key=api_key, webhook_secret=secret, zone=BOOKING_ZONE,
                             retry_delays=(0.05, 0.1), max_retry_after=0.2).start()
    settings = {
        "DATAVERSE_URL": dataverse.url,
        "DATAVERSE_AUTH": "none",
        "BOOKING_API_URL": booking.api_url,
        "BOOKING_API_KEY": api_key,
        "BOOKING_REDIRECT_URL": booking.redirect_template(),
        "BOOKING_WEBHOOK_SECRET": secret,
        "BOOKING_SOURCE": "booking",
        "APPOINTMENT_VERSION_COLUMN": VERSION_COLUMN,
    }
    try:
        app = DevHost(app_dir=ROOT, settings=settings).start()
    except BaseException:
        booking.stop()
        dataverse.stop()
        raise
    booking.webhook_url = f"{app.url}/api/webhooks/appointments"
    return DemoStack(dataverse, booking, app)
