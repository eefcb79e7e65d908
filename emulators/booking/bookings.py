"""What happens when a customer books, reschedules or cancels: state changes plus one webhook each."""

from __future__ import annotations

import json
import secrets
from datetime import datetime, timedelta
from typing import Any

from .delivery import Outgoing, WebhookSender
from .slots import SlotPlan
from .state import Appointment, Session, State
from .timefmt import iso, now, parse


class UnknownSession(LookupError):
    """No such session, or it has expired."""


class UnknownAppointment(LookupError):
    pass


class InvalidBooking(ValueError):
    pass


LIMITS = {"subject": 200, "location": 200, "notes": 2000}


class Bookings:
    def __init__(self, state: State, sender: WebhookSender, slots: SlotPlan, staff_email: str) -> None:
        self._state = state
        self._sender = sender
        self._slots = slots
        self.staff_email = staff_email

    def live_session(self, session_id: str) -> Session:
        with self._state.lock:
            session = self._state.sessions.get(session_id)
            if session is None or session.expires_at <= now():
                raise UnknownSession(session_id)
            return session

    def book(
        self,
        session_id: str,
        *,
        start: str | datetime | None = None,
        end: str | datetime | None = None,
        subject: str | None = None,
        location: str | None = None,
        notes: str | None = None,
    ) -> str:
        """Confirm a slot for the session. A session opened with an ``appointmentId`` moves that appointment."""
        begin, finish = self._times(start, end)
        fields = _fields(subject=subject or "Appointment", location=location or "", notes=notes or "")
        with self._state.lock:
            session = self.live_session(session_id)
            current = self._state.appointments.get(session.appointment_id or "")
            if session.reschedules:
                apt_id = session.appointment_id or ""
                if current is None:
                    current = self._state.appointments[apt_id] = Appointment(
                        apt_id, session.id, "scheduled", begin, finish, **fields
                    )
                current.session_id = session.id
                current.status, current.start, current.end = "scheduled", begin, finish
                current.subject, current.location, current.notes = fields["subject"], fields["location"], fields["notes"]
                self._emit("appointment.updated", current)
                return apt_id
            apt_id = self._state.new_appointment_id()
            appointment = Appointment(apt_id, session.id, "scheduled", begin, finish, **fields)
            self._state.appointments[apt_id] = appointment
            session.appointment_id = apt_id
            self._emit("appointment.created", appointment)
            return apt_id

    def reschedule(self, appointment_id: str, start: str | datetime, end: str | datetime | None = None) -> None:
        begin, finish = self._times(start, end)
        with self._state.lock:
            appointment = self._appointment(appointment_id)
            appointment.start, appointment.end, appointment.status = begin, finish, "scheduled"
            self._emit("appointment.updated", appointment)

    def cancel(self, appointment_id: str) -> None:
        with self._state.lock:
            appointment = self._appointment(appointment_id)
            appointment.status = "cancelled"
            self._emit("appointment.cancelled", appointment)

    def complete(self, appointment_id: str) -> None:
        with self._state.lock:
            appointment = self._appointment(appointment_id)
            appointment.status = "completed"
            self._emit("appointment.updated", appointment)

    def redeliver(self, webhook_id: str) -> None:
        """Send a past event again, same id and body (a duplicate delivery)."""
        with self._state.lock:
            event = next((e for e in self._state.events if e["webhook_id"] == webhook_id), None)
            if event is None:
                raise LookupError(webhook_id)
            generation = self._state.generation
        self._sender.submit(Outgoing(webhook_id, event["type"], event["appointment_id"], event["body"], generation))

    def _appointment(self, appointment_id: str) -> Appointment:
        appointment = self._state.appointments.get(appointment_id)
        if appointment is None:
            raise UnknownAppointment(appointment_id)
        return appointment

    def _times(self, start: str | datetime | None, end: str | datetime | None) -> tuple[str, str]:
        try:
            begin = self._slots.offered()[0] if start is None else _moment(start)
            finish = begin + self._slots.length if end is None else _moment(end)
        except ValueError as exc:
            raise InvalidBooking(f"start/end: {exc}") from None
        if finish <= begin:
            raise InvalidBooking("end must be after start")
        return iso(begin), iso(finish)

    def _emit(self, event_type: str, appointment: Appointment) -> None:
        """Build the docs/spec.md#23-post-apiwebhooksappointments payload and queue it; caller holds the state lock."""
        moment = now()
        stamp = moment.replace(microsecond=moment.microsecond // 1000 * 1000)
        if appointment.updated_at is not None and stamp <= appointment.updated_at:
            stamp = appointment.updated_at + timedelta(milliseconds=1)
        appointment.updated_at = stamp
        session = self._state.sessions.get(appointment.session_id)
        data: dict[str, Any] = {
            "appointmentId": appointment.id,
            "status": appointment.status,
            "updatedAt": iso(stamp, millis=True),
            "start": appointment.start,
            "end": appointment.end,
            "subject": appointment.subject,
            "location": appointment.location,
            "notes": appointment.notes,
            "customer": dict(session.customer) if session else {},
            "crmReference": dict(session.crm_reference) if session else None,
            "sessionId": appointment.session_id,
            "staff": {"email": self.staff_email},
        }
        payload = {"type": event_type, "timestamp": iso(now()), "data": data}
        body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
        webhook_id = "msg_" + secrets.token_urlsafe(16)
        self._state.events.append(
            {"webhook_id": webhook_id, "type": event_type, "appointment_id": appointment.id, "payload": payload, "body": body}
        )
        self._sender.submit(Outgoing(webhook_id, event_type, appointment.id, body, self._state.generation))


def _moment(value: str | datetime) -> datetime:
    moment = parse(value) if isinstance(value, str) else value
    if moment.tzinfo is None:
        raise ValueError("time needs an offset or Z")
    return moment


def _fields(**values: str) -> dict[str, str]:
    for name, value in values.items():
        if len(value) > LIMITS[name]:
            raise InvalidBooking(f"{name} is longer than {LIMITS[name]} characters")
    return values
