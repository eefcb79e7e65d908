"""The whole demo stack in this process, each server on an ephemeral loopback port.

Same wiring as ``make run`` (tools/run_stack.py): the Dataverse emulator with its demo data,
the booking sandbox signing webhooks to the devhost, and the devhost serving function_app.py
with settings pointing at both.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta, timezone
from typing import Any
from urllib.parse import urlencode

from tests.support.apphost import start_host, stop_host
from tests.support.booking import start_sandbox
from tests.support.settings import VERSION_COLUMN, settings_for
from tests.support.webhooks import new_secret

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
        stop_host(self.app)
        self.booking.stop()
        self.dataverse.stop()


def start_stack() -> DemoStack:
    from emulators.dataverse import DataverseEmulator

    api_key = secrets.token_urlsafe(16)
    secret = new_secret()
    dataverse = DataverseEmulator(custom_columns={"appointment": {VERSION_COLUMN: "string"}}, seed_demo=True).start()
    sandbox = start_sandbox(api_key, secret, zone=BOOKING_ZONE, retry_delays=(0.05, 0.1), max_retry_after=0.2)
    settings = settings_for(dataverse.url, sandbox, api_key=api_key, webhook_secret=secret,
                            version_column=VERSION_COLUMN)
    try:
        app = start_host(settings)
    except BaseException:
        sandbox.stop()
        dataverse.stop()
        raise
    sandbox.webhook_url = f"{app.url}/api/webhooks/appointments"
    return DemoStack(dataverse, sandbox, app)
