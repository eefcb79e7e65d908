"""The schedule import route around the test's composition root, and a client with quick retries."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import azure.functions as func
import pytest

from dataverse import DataverseClient
from tests.component.schedules.importing import FAST_RETRY
from tests.support.handlers import app_handler

Post = Callable[[Any], Awaitable[tuple[int, dict[str, Any], func.HttpResponse]]]


@pytest.fixture
def post(app_root: Any) -> Post:
    """Call the app's import route with a document (or raw bytes): ``(status, JSON body, response)``."""
    handler = app_handler(app_root, "import_schedules")

    async def send(document: Any) -> tuple[int, dict[str, Any], func.HttpResponse]:
        body = document if isinstance(document, bytes) else json.dumps(document).encode()
        response = await handler(func.HttpRequest("POST", "/api/schedules/import", body=body))
        return response.status_code, json.loads(response.get_body() or b"null"), response

    return send


@pytest.fixture
async def client(dataverse):
    """A client with quick retries, for tests that drive the flow directly through an outage."""
    async with DataverseClient(dataverse.url, retry=FAST_RETRY) as c:
        yield c
