"""The function app's settings for a test, pointing at the emulators: built here and nowhere else."""

from __future__ import annotations

import json
import os
from typing import Any

import pytest

from tests.support import ROOT

WEBHOOK_SECRET = "whsec_dGVzdC13ZWJob29rLXNlY3JldC0wMTIzNDU2Nzg5"  # test-only
VERSION_COLUMN = "new_bookingversion"
REDIRECT_TEMPLATE = "https://book.example.com/start?session={sessionId}"
UNUSED_BOOKING_API = "http://127.0.0.1:9/unused"  # the discard port: nothing listens
# Every setting the app reads starts with one of these; a test's settings replace all of them.
SETTING_PREFIXES = ("DATAVERSE_", "BOOKING_", "APPOINTMENT_", "AZURE_", "AzureWebJobsStorage")
SAMPLE_SCHEDULE = ROOT / "samples" / "schedules" / "week-47.json"
# The required settings only, for a real environment (the optional ones take their defaults).
VALID = {
    "DATAVERSE_URL": "https://contoso.crm.dynamics.com",
    "BOOKING_API_URL": "https://api.book.example.com/v1",
    "BOOKING_REDIRECT_URL": REDIRECT_TEMPLATE,
    "BOOKING_WEBHOOK_SECRET": WEBHOOK_SECRET,
}


def settings_for(
    dataverse_url: str, booking: Any = None, *, api_key: str | None = None, webhook_secret: str = WEBHOOK_SECRET,
    version_column: str | None = None,
) -> dict[str, str]:
    """The app's settings: Dataverse at ``dataverse_url`` without auth; the booking API of the
    ``booking`` sandbox when given (else an address nothing answers on)."""
    values = {
        "DATAVERSE_URL": dataverse_url,
        "DATAVERSE_AUTH": "none",
        "BOOKING_API_URL": booking.api_url if booking is not None else UNUSED_BOOKING_API,
        "BOOKING_REDIRECT_URL": booking.redirect_template() if booking is not None else REDIRECT_TEMPLATE,
        "BOOKING_WEBHOOK_SECRET": webhook_secret,
        "BOOKING_SOURCE": "booking",
    }
    if api_key is not None:
        values["BOOKING_API_KEY"] = api_key
    if version_column is not None:
        values["APPOINTMENT_VERSION_COLUMN"] = version_column
    return values


def set_app_environment(monkeypatch: pytest.MonkeyPatch, values: dict[str, str]) -> None:
    """Exactly ``values`` as the app's settings in os.environ, for this test (monkeypatch undoes it)."""
    for name in list(os.environ):
        if name.startswith(SETTING_PREFIXES):
            monkeypatch.delenv(name)
    for name, value in values.items():
        monkeypatch.setenv(name, value)


def sample_schedule() -> dict[str, Any]:
    """A fresh copy of the sample WEM schedule (samples/schedules/week-47.json)."""
    return json.loads(SAMPLE_SCHEDULE.read_text())
