"""The control surface over HTTP under /_emulator/ (JSON), for an emulator run as its own process."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from emulators.dataverse.hosting.pages import index_page, timeline_page
from emulators.dataverse.model.service_errors import ServiceError
from emulators.dataverse.webapi.messages import Reply

if TYPE_CHECKING:
    from emulators.dataverse.hosting.core import EmulatorCore


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LatencyBody(_Body):
    seconds: float = Field(ge=0)


class _FaultBody(_Body):
    n: int = Field(default=1, ge=0)
    method: str | None = None
    path: str | None = None


class ThrottleBody(_FaultBody):
    retry_after: float = Field(default=1, ge=0)
    code: str = "0x80072322"


class FailBody(_FaultBody):
    status: int = Field(default=503, ge=400, le=599)
    retry_after: float | None = Field(default=None, ge=0)


class HangBody(_FaultBody):
    seconds: float = Field(default=30, ge=0)


class AccessLevelBody(_Body):
    level: str = Field(pattern="^(none|user|organization)$")


class Admin:
    def __init__(self, core: EmulatorCore) -> None:
        self.core = core

    def handle(self, method: str, path: str, query: list[tuple[str, str]], headers: dict[str, str], body: bytes) -> Reply:
        parts = [p for p in path.split("/") if p][1:]
        try:
            return self._route(method, parts, dict(query), headers, body)
        except ServiceError as error:
            return Reply.error(error)
        except ValidationError as error:
            return _json(400, {"error": "invalid body", "details": json.loads(error.json(include_url=False))})
        except (KeyError, ValueError) as error:
            return _json(404 if isinstance(error, KeyError) else 400, {"error": str(error).strip("'\"")})

    def _route(self, method: str, parts: list[str], query: dict[str, str], headers: dict[str, str], body: bytes) -> Reply:
        core = self.core
        head = parts[0] if parts else ""
        if method == "GET" and not parts:
            if "application/json" in headers.get("accept", ""):
                return _json(200, {"tables": self._counts(), "url": "/api/data/v9.2/"})
            return _html(index_page(core.catalog, core.store))
        if method == "GET" and head == "timeline" and len(parts) == 3:
            return _html(timeline_page(core.catalog, core.store, parts[1], parts[2]))
        if method == "POST" and parts == ["reset"]:
            core.reset()
            return Reply.empty(204)
        if head == "requests" and len(parts) == 1:
            if method == "GET":
                return _json(200, {"requests": [e.as_dict() for e in core.requests]})
            if method == "DELETE":
                core.clear_log()
                return Reply.empty(204)
        if method == "GET" and parts == ["count"]:
            return _json(200, {"count": core.count(query.get("method"), query.get("path"), query.get("caller"))})
        if head == "access-levels":
            if method == "GET" and len(parts) == 1:
                return _json(200, {"levels": core.access_levels()})
            if method == "PUT" and len(parts) == 2:
                level = AccessLevelBody.model_validate_json(body or b"{}").level
                core.set_access_level(parts[1], level)
                return _json(200, {"id": parts[1], "level": level})
        if head == "rows" and len(parts) in (2, 3):
            return self._rows(method, parts, body)
        if parts == ["latency"]:
            if method == "PUT":
                core.latency = LatencyBody.model_validate_json(body or b"{}").seconds
            return _json(200, {"seconds": core.latency})
        if head == "faults":
            return self._faults(method, parts[1:], body)
        return _json(404, {"error": f"no control {method} /_emulator/{'/'.join(parts)}"})

    def _rows(self, method: str, parts: list[str], body: bytes) -> Reply:
        entity_set = parts[1]
        if method == "GET" and len(parts) == 2:
            return _json(200, {"value": self.core.rows(entity_set, annotations=True)})
        if method == "GET":
            row = self.core.row(entity_set, parts[2], annotations=True)
            return _json(404, {"error": "no such row"}) if row is None else _json(200, row)
        if method == "POST" and len(parts) == 2:
            data = json.loads(body or b"{}")
            if not isinstance(data, dict):
                raise ValueError("the row must be a JSON object")
            return _json(201, {"id": self.core.insert(entity_set, data)})
        return _json(404, {"error": "unsupported rows request"})

    def _faults(self, method: str, parts: list[str], body: bytes) -> Reply:
        faults = self.core.faults
        if not parts:
            if method == "DELETE":
                faults.clear()
                return Reply.empty(204)
            if method == "GET":
                return _json(200, {"pending": faults.pending()})
        if method == "POST" and len(parts) == 1:
            actions: dict[str, Callable[[bytes], None]] = {
                "throttle": lambda raw: faults.throttle(**ThrottleBody.model_validate_json(raw).model_dump()),
                "fail": lambda raw: faults.fail(**FailBody.model_validate_json(raw).model_dump()),
                "hang": lambda raw: faults.hang(**HangBody.model_validate_json(raw).model_dump()),
                "reset_connection": lambda raw: faults.reset_connection(**_FaultBody.model_validate_json(raw).model_dump()),
            }
            action = actions.get(parts[0])
            if action is not None:
                action(body or b"{}")
                return _json(200, {"pending": faults.pending()})
        return _json(404, {"error": "unknown fault control"})

    def _counts(self) -> dict[str, int]:
        counts = self.core.store.counts()
        return {self.core.catalog.table(logical).entity_set: n for logical, n in counts.items()}


def _json(status: int, data: object) -> Reply:
    return Reply(status, {"Content-Type": "application/json"}, json.dumps(data).encode())


def _html(text: str) -> Reply:
    return Reply(200, {"Content-Type": "text/html; charset=utf-8"}, text.encode())
