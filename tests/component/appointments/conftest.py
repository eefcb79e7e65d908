"""Fixtures for the webhook over real HTTP: the app's handler, the Dataverse emulator, seeded rows."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.handlers import Answer, Deliver, Handler, app_handler, call_handler, webhook_request
from tests.support.settings import VERSION_COLUMN
from tests.support.webhooks import STAFF_EMAIL


@pytest.fixture
def webhook_handler(app_root: Any) -> Handler:
    """The app's webhook handler, served with the test's settings (``app_settings``)."""
    return app_handler(app_root, "appointment_webhook")


@pytest.fixture
def deliver(webhook_handler: Handler) -> Deliver:
    """Send a body (an event dict or raw bytes), signed unless ``headers`` are given."""

    async def send(body: bytes | dict[str, Any], headers: dict[str, str] | None = None) -> Answer:
        return await call_handler(webhook_handler, webhook_request(body, headers))

    return send


@pytest.fixture
def versioned(app_settings: dict[str, str]) -> str:
    app_settings["APPOINTMENT_VERSION_COLUMN"] = VERSION_COLUMN
    return VERSION_COLUMN


@pytest.fixture
def staff_user(dataverse: Any) -> str:
    return dataverse.insert(
        "systemusers", {"firstname": "Ada", "lastname": "Advisor", "internalemailaddress": STAFF_EMAIL}
    )
