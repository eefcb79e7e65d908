"""Scripted failures for the next requests: throttling, 5xx, hangs and dropped connections (docs/dataverse-webapi.md#7-service-protection)."""

from __future__ import annotations

import threading
from dataclasses import dataclass

THROTTLE_MESSAGES = {
    "0x80072322": "Number of requests exceeded the limit of 6000 over time window of 300 seconds.",
    "0x80072321": (
        "Combined execution time of incoming requests exceeded limit of 1,200,000 milliseconds over time window "
        "of 300 seconds. Decrease number of concurrent requests or reduce the duration of requests and try again later."
    ),
    "0x80072326": "Number of concurrent requests exceeded the limit of 52.",
}


@dataclass(frozen=True)
class Fault:
    kind: str  # "throttle" | "fail" | "hang" | "reset"
    status: int = 503
    code: str = "0x80072322"
    retry_after: float | str | None = None  # a str is sent verbatim (hostile values for client tests)
    seconds: float = 0.0
    method: str | None = None
    path: str | None = None

    def matches(self, method: str, path: str) -> bool:
        return (self.method is None or self.method.upper() == method) and (self.path is None or self.path in path)


class Faults:
    """A FIFO of faults; each API request takes the first one that matches it. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queue: list[Fault] = []

    def _add(self, n: int, fault: Fault) -> None:
        if n < 0:
            raise ValueError("n must be >= 0")
        with self._lock:
            self._queue.extend([fault] * n)

    def throttle(
        self, n: int = 1, retry_after: float | str = 1, code: str = "0x80072322", *, method: str | None = None,
        path: str | None = None,
    ) -> None:
        """The next `n` requests get 429 with Retry-After and a service-protection code.

        A ``retry_after`` string is sent as the header value as it is, however malformed.
        """
        if code not in THROTTLE_MESSAGES:
            raise ValueError(f"throttle code must be one of {sorted(THROTTLE_MESSAGES)}")
        self._add(n, Fault("throttle", 429, code, retry_after, method=method, path=path))

    def fail(
        self, n: int = 1, status: int = 503, *, retry_after: float | str | None = None, method: str | None = None,
        path: str | None = None,
    ) -> None:
        """The next `n` requests get `status` with a Dataverse error body."""
        self._add(n, Fault("fail", status, "0x80040216", retry_after, method=method, path=path))

    def hang(self, n: int = 1, seconds: float = 30, *, method: str | None = None, path: str | None = None) -> None:
        """The next `n` requests wait `seconds` before being handled (clients time out first)."""
        self._add(n, Fault("hang", seconds=seconds, method=method, path=path))

    def reset_connection(self, n: int = 1, *, method: str | None = None, path: str | None = None) -> None:
        """The next `n` requests get no answer: the connection is dropped."""
        self._add(n, Fault("reset", method=method, path=path))

    def clear(self) -> None:
        with self._lock:
            self._queue.clear()

    def pending(self) -> int:
        with self._lock:
            return len(self._queue)

    def take(self, method: str, path: str) -> Fault | None:
        with self._lock:
            for index, fault in enumerate(self._queue):
                if fault.matches(method, path):
                    return self._queue.pop(index)
        return None
