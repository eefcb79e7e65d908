"""The contract suite's credentials and the usual settings of the app under test."""

from __future__ import annotations

from typing import Any

from tests.support.settings import VERSION_COLUMN, settings_for
from tests.support.webhooks import new_secret

API_KEY = "sandbox-api-key-7f3a9c"
WEBHOOK_SECRET = new_secret()


def base_settings(dataverse_url: str, booking_system: Any) -> dict[str, str]:
    return settings_for(dataverse_url, booking_system, api_key=API_KEY, webhook_secret=WEBHOOK_SECRET,
                        version_column=VERSION_COLUMN)
