"""Fixtures for the webhook over real HTTP: the app's handler, the Dataverse emulator, seeded rows."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import azure.functions as func
import pytest

from tests.app_handlers import Handler, app_handler
from tests.appointments.delivery import request

VERSION_COLUMN = "new_bookingversion"
STAFF_EMAIL = "advisor@bank.example"


@dataclass
class Answer:
    status: int
    body: Any
    headers: dict[str, str]
    mimetype: str


Deliver = Callable[..., Awaitable[Answer]]


async def call_handler(handler: Handler, req: func.HttpRequest) -> Answer:
    response = await handler(req)
    raw = response.get_body()
    return Answer(response.status_code, json.loads(raw) if raw else None, dict(response.headers), response.mimetype)


@pytest.fixture
def webhook_handler(app_root: Any) -> Handler:
    """The app's webhook handler, served with the test's settings (``app_settings``)."""
    return app_handler(app_root, "appointment_webhook")


@pytest.fixture
def deliver(webhook_handler: Handler) -> Deliver:
    """Send a body (an event dict or raw bytes), signed unless ``headers`` are given."""

    async def send(body: bytes | dict[str, Any], headers: dict[str, str] | None = None) -> Answer:
        return await call_handler(webhook_handler, request(body, headers))

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
