"""Talking to the emulator's Web API: $batch bodies, the documented error shape, the id of a created row."""

from __future__ import annotations

import json
import uuid

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


API = "/api/data/v9.2/"


def part(method: str, url: str, body: object = None, content_id: str | None = None, headers: dict[str, str] | None = None) -> str:
    lines = ["Content-Type: application/http", "Content-Transfer-Encoding: binary"]
    if content_id:
        lines.append(f"Content-ID: {content_id}")
    inner = [f"{method} {url} HTTP/1.1"]
    if body is not None:
        inner.append("Content-Type: application/json; type=entry")
    inner += [f"{k}: {v}" for k, v in (headers or {}).items()]
    text = "\r\n".join(lines) + "\r\n\r\n" + "\r\n".join(inner) + "\r\n\r\n"
    return text + (json.dumps(body) if body is not None else "")


def changeset(*parts: str) -> str:
    boundary = f"changeset_{uuid.uuid4().hex}"
    inner = "".join(f"--{boundary}\r\n{p}\r\n" for p in parts)
    return f"Content-Type: multipart/mixed; boundary={boundary}\r\n\r\n{inner}--{boundary}--"


def batch(api, *parts: str, prefer: str | None = None, newline: str = "\r\n"):
    boundary = f"batch_{uuid.uuid4().hex}"
    body = "".join(f"--{boundary}\r\n{p}\r\n" for p in parts) + f"--{boundary}--\r\n"
    headers = {"Content-Type": f'multipart/mixed; boundary="{boundary}"'}
    if prefer:
        headers["Prefer"] = prefer
    return api.post("$batch", content=body.replace("\r\n", newline).encode(), headers=headers)
