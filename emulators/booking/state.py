"""The sandbox's memory: sessions, appointments, logs and planned failures, behind one lock."""

from __future__ import annotations

import collections
import itertools
import secrets
import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .timefmt import iso

FAILURE_MODES = ("error500", "reject400", "garbage", "hang", "throttle", "unavailable503")


@dataclass
class Session:
    id: str
    customer: dict[str, Any]
    crm_reference: dict[str, Any]
    appointment_id: str | None
    reschedules: bool
    expires_at: datetime

    def snapshot(self) -> dict[str, Any]:
        return {
            "sessionId": self.id,
            "customer": dict(self.customer),
            "crmReference": dict(self.crm_reference),
            "appointmentId": self.appointment_id,
            "expiresAt": iso(self.expires_at),
        }


@dataclass
class Appointment:
    id: str
    session_id: str
    status: str
    start: str
    end: str
    subject: str
    location: str
    notes: str
    updated_at: datetime | None = None

    def snapshot(self) -> dict[str, Any]:
        return {
            "appointmentId": self.id,
            "sessionId": self.session_id,
            "status": self.status,
            "start": self.start,
            "end": self.end,
            "subject": self.subject,
            "location": self.location,
            "notes": self.notes,
        }


@dataclass
class State:
    """Everything a reset clears. Callers hold ``lock`` while reading or changing fields."""

    lock: threading.RLock = field(default_factory=threading.RLock)
    sessions: dict[str, Session] = field(default_factory=dict)
    appointments: dict[str, Appointment] = field(default_factory=dict)
    idempotency: dict[str, tuple[str, dict[str, Any]]] = field(default_factory=dict)
    requests: list[dict[str, Any]] = field(default_factory=list)
    deliveries: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    failures: collections.deque[tuple[str, str | None]] = field(default_factory=collections.deque)
    next_session_ids: list[str] = field(default_factory=list)
    next_expires_at: list[str] = field(default_factory=list)
    generation: int = 0
    _apt_numbers: itertools.count = field(default_factory=lambda: itertools.count(1))

    def reset(self) -> None:
        """Forget everything; appointment numbers keep counting so old ids never come back."""
        with self.lock:
            self.sessions.clear()
            self.appointments.clear()
            self.idempotency.clear()
            self.requests.clear()
            self.deliveries.clear()
            self.events.clear()
            self.failures.clear()
            self.next_session_ids.clear()
            self.next_expires_at.clear()
            self.generation += 1

    def new_session_id(self) -> str:
        with self.lock:
            if self.next_session_ids:
                return self.next_session_ids.pop(0)
            return "sess_" + secrets.token_urlsafe(12)

    def new_appointment_id(self) -> str:
        with self.lock:
            return f"apt_{next(self._apt_numbers)}"

    def fail_next(self, n: int, mode: str, retry_after: str | None = None) -> None:
        if mode not in FAILURE_MODES:
            raise ValueError(f"unknown failure mode {mode!r}; one of {', '.join(FAILURE_MODES)}")
        with self.lock:
            self.failures.extend([(mode, retry_after)] * n)

    def new_expires_at(self) -> str | None:
        """A queued raw ``expiresAt`` value to answer instead of the real one, if any."""
        with self.lock:
            return self.next_expires_at.pop(0) if self.next_expires_at else None

    def take_failure(self) -> tuple[str, str | None] | None:
        with self.lock:
            return self.failures.popleft() if self.failures else None

    def log_request(self, entry: dict[str, Any]) -> None:
        with self.lock:
            self.requests.append(entry)
