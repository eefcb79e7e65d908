"""The log of API requests the emulator answered (admin and page requests are not logged)."""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class LoggedRequest:
    method: str
    path: str  # percent-decoded, e.g. /api/data/v9.2/leads(...)
    query: str  # percent-decoded query string
    headers: Mapping[str, str]  # lower-case names
    status: int | None  # None when the connection was dropped without an answer
    body: bytes = b""
    caller: str | None = None  # systemuserid of the token's principal (--auth entra); None without one

    def json(self) -> object:
        return json.loads(self.body) if self.body else None

    def as_dict(self) -> dict[str, object]:
        return {
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "headers": dict(self.headers),
            "status": self.status,
            "body": self.body.decode("utf-8", "replace"),
            "caller": self.caller,
        }


class RequestLog:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: list[LoggedRequest] = []

    def add(self, entry: LoggedRequest) -> None:
        with self._lock:
            self._entries.append(entry)

    def entries(self) -> list[LoggedRequest]:
        with self._lock:
            return list(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def count(self, method: str | None = None, path: str | None = None, caller: str | None = None) -> int:
        """Requests with this method, whose path contains `path` and made by `caller` (a systemuserid);
        a $batch is one request."""
        return sum(
            1
            for e in self.entries()
            if (method is None or e.method == method.upper())
            and (path is None or path in e.path)
            and (caller is None or e.caller == caller.lower())
        )
