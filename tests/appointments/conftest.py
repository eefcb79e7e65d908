"""Fixtures for the webhook over real HTTP: the app's handler, the Dataverse emulator, seeded rows."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.handlers import Answer, Deliver, call_webhook, webhook_request
from tests.support.settings import VERSION_COLUMN
from tests.support.webhooks import STAFF_EMAIL


@pytest.fixture
def deliver(app_settings: dict[str, str]) -> Deliver:
    """Send a body (an event dict or raw bytes), signed unless ``headers`` are given."""

    async def send(body: bytes | dict[str, Any], headers: dict[str, str] | None = None) -> Answer:
        return await call_webhook(webhook_request(body, headers))

    return send


@pytest.fixture
def versioned(app_settings: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("APPOINTMENT_VERSION_COLUMN", VERSION_COLUMN)
    return VERSION_COLUMN


@pytest.fixture
def staff_user(dataverse: Any) -> str:
    return dataverse.insert(
        "systemusers", {"firstname": "Ada", "lastname": "Advisor", "internalemailaddress": STAFF_EMAIL}
    )
