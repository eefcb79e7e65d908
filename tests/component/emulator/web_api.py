"""Reading the emulator's Web API answers: the documented error shape, the id of a created row."""

from __future__ import annotations

import httpx

ANNOTATIONS = {"Prefer": 'odata.include-annotations="*"'}
REPRESENTATION = {"Prefer": "return=representation"}


def error_of(response: httpx.Response) -> dict[str, str]:
    """The Dataverse error body, after checking it has the shape the Web API documents."""
    assert response.headers["content-type"] == "application/json; odata.metadata=minimal", response.headers
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}, body
    return body["error"]


def created_id(response: httpx.Response) -> str:
    assert response.status_code == 204, response.text
    entity_id = response.headers["OData-EntityId"]
    return entity_id[entity_id.rindex("(") + 1 : -1]
