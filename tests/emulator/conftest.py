"""An httpx client on the shared emulator's Web API root (fixtures from tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

ANNOTATIONS = {"Prefer": 'odata.include-annotations="*"'}
REPRESENTATION = {"Prefer": "return=representation"}


@pytest.fixture(scope="session")
def _session_client(dataverse_server) -> Iterator[httpx.Client]:
    """One client for the whole suite: building an httpx client (TLS context) costs more than a test."""
    with httpx.Client(base_url=f"{dataverse_server.url}/api/data/v9.2/", timeout=10) as client:
        yield client


@pytest.fixture
def api(dataverse, _session_client: httpx.Client) -> httpx.Client:
    """The Web API root of a freshly reset emulator."""
    return _session_client


def error_of(response: httpx.Response) -> dict[str, str]:
    """The Dataverse error body, after checking it has the documented shape (docs/dataverse-webapi.md#81-error-body, #1211-error-shape)."""
    assert response.headers["content-type"] == "application/json; odata.metadata=minimal", response.headers
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}, body
    return body["error"]


def created_id(response: httpx.Response) -> str:
    assert response.status_code == 204, response.text
    entity_id = response.headers["OData-EntityId"]
    return entity_id[entity_id.rindex("(") + 1 : -1]
