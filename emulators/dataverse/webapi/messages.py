"""The emulator's internal request and reply, shared by plain HTTP requests and $batch parts."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import unquote_plus

from emulators.dataverse.model.service_errors import ServiceError, bad_payload

if TYPE_CHECKING:
    from emulators.dataverse.webapi.security import Caller

JSON_TYPE = "application/json; odata.metadata=minimal"


@dataclass
class ApiRequest:
    method: str
    path: str  # after /api/data/v9.2/, percent-decoded
    query: list[tuple[str, str]]  # decoded name/value pairs, in order
    headers: Mapping[str, str]  # lower-case names
    body: bytes
    base_url: str  # http://host:port/api/data/v9.2/
    content_ids: dict[str, str] | None = None  # "$1" -> "set(id)" inside a changeset
    claims: Mapping[str, object] | None = None  # a validated bearer token's claims (--auth entra)
    caller: Caller | None = None  # the systemuser those claims map to; None: --auth none

    def header(self, name: str) -> str | None:
        return self.headers.get(name)

    def prefer(self) -> dict[str, str]:
        return parse_prefer(self.headers.get("prefer", ""))

    def json_body(self, entity_set: str) -> dict[str, object]:
        try:
            data = json.loads(self.body or b"null")
        except ValueError:
            raise bad_payload(entity_set, "The request body is not valid JSON.") from None
        if not isinstance(data, dict):
            raise bad_payload(entity_set, "The request body must be a JSON object.")
        return data


@dataclass
class Reply:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    entity: str | None = None  # "set(key)" of the row written, for $n references in a changeset

    @classmethod
    def json(cls, status: int, data: object, headers: dict[str, str] | None = None) -> Reply:
        merged = {"Content-Type": JSON_TYPE, **(headers or {})}
        return cls(status, merged, json.dumps(data, separators=(",", ":")).encode())

    @classmethod
    def error(cls, error: ServiceError) -> Reply:
        return cls.json(error.status, error.body(), dict(error.headers))

    @classmethod
    def empty(cls, status: int = 204, headers: dict[str, str] | None = None) -> Reply:
        return cls(status, dict(headers or {}))


def decode_query(raw: bytes) -> list[tuple[str, str]]:
    pairs = []
    for part in raw.decode("latin-1").split("&"):
        if part:
            name, _, value = part.partition("=")
            pairs.append((unquote_plus(name), unquote_plus(value)))
    return pairs


def parse_prefer(header: str) -> dict[str, str]:
    """`return=representation,odata.include-annotations="*"` -> {"return": ..., ...} (quotes removed)."""
    preferences: dict[str, str] = {}
    for item in _split_outside_quotes(header, ","):
        name, _, value = item.strip().partition("=")
        if name:
            preferences[name.strip().lower()] = value.strip().strip('"')
    return preferences


def _split_outside_quotes(text: str, separator: str) -> list[str]:
    parts, current, quoted = [], [], False
    for char in text:
        if char == '"':
            quoted = not quoted
        if char == separator and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return [p for p in parts if p.strip()]
