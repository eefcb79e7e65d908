"""The Dataverse ``appointment`` row that one booking-system appointment should be.

Pure: builds the desired row from a validated event and plans the fewest writes that turn
the stored row (if any) into it. Keeping this free of I/O is what lets ``unchanged`` mean
"compared, nothing to write" and lets the plan be tested exhaustively.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Literal

from dataverse.odata import bind

from integration.appointments.events import AppointmentData

State = tuple[int, int]
OPEN: State = (0, 1)
COMPLETED: State = (1, 3)
CANCELLED: State = (2, 4)
CLOSED_STATECODES = frozenset({1, 2})
REQUIRED_ATTENDEE = 5
ORGANIZER = 7
DATE_COLUMNS = ("scheduledstart", "scheduledend")
PARTIES = "appointment_activity_parties"


@dataclass(frozen=True)
class CustomerRef:
    entity: Literal["lead", "contact"]
    id: str

    @property
    def entity_set(self) -> str:
        return f"{self.entity}s"

    def as_answer(self) -> dict[str, str]:
        return {"entity": self.entity, "id": self.id}


@dataclass(frozen=True)
class AppointmentRecord:
    row_id: str
    columns: Mapping[str, Any]
    regarding: CustomerRef
    organizer_id: str | None
    state: State | None
    """``None`` means open: Open (0) or Scheduled (3), whichever Dataverse or a user chose."""

    def body(self) -> dict[str, Any]:
        """The PATCH body: columns, the regarding bind and the full activity-party list."""
        customer_bind = bind(self.regarding.entity_set, self.regarding.id)
        parties: list[dict[str, Any]] = [
            {f"partyid_{self.regarding.entity}@odata.bind": customer_bind, "participationtypemask": REQUIRED_ATTENDEE}
        ]
        if self.organizer_id:
            parties.append(
                {"partyid_systemuser@odata.bind": bind("systemusers", self.organizer_id), "participationtypemask": ORGANIZER}
            )
        return {
            **self.columns,
            f"regardingobjectid_{self.regarding.entity}_appointment@odata.bind": customer_bind,
            PARTIES: parties,
        }

    def fields_match(self, stored: Mapping[str, Any]) -> bool:
        """Whether ``stored`` (read with its parties expanded) already holds every field we write."""
        for column, wanted in self.columns.items():
            have = stored.get(column)
            if column in DATE_COLUMNS and isinstance(have, str):
                have = utc_seconds(datetime.fromisoformat(have.replace("Z", "+00:00")))
            if have != wanted:
                return False
        if (stored.get("_regardingobjectid_value") or "").lower() != self.regarding.id:
            return False
        parties = stored.get(PARTIES)
        if not isinstance(parties, list):
            return False
        return _party_ids(parties, REQUIRED_ATTENDEE) == {self.regarding.id} and (
            self.organizer_id is None or _party_ids(parties, ORGANIZER) == {self.organizer_id}
        )


@dataclass(frozen=True)
class WritePlan:
    reopen: bool
    write_fields: bool
    close: State | None

    @property
    def empty(self) -> bool:
        return not (self.reopen or self.write_fields or self.close)


def build_record(
    data: AppointmentData,
    *,
    row_id: str,
    regarding: CustomerRef,
    organizer_id: str | None,
    version_column: str | None,
) -> AppointmentRecord:
    reference = f"Booking reference: {data.appointmentId}"
    columns: dict[str, Any] = {
        "subject": data.subject or f"Booking {data.appointmentId}"[:200],
        "scheduledstart": utc_seconds(data.start),
        "scheduledend": utc_seconds(data.end),
        "scheduleddurationminutes": int((data.end - data.start).total_seconds() // 60),
        "location": data.location or None,
        "description": f"{data.notes.strip()}\n\n{reference}" if data.notes and data.notes.strip() else reference,
    }
    if version_column:
        columns[version_column] = version_text(data.updatedAt)
    state = {"scheduled": None, "cancelled": CANCELLED, "completed": COMPLETED}[data.status]
    return AppointmentRecord(row_id, columns, regarding, organizer_id, state)


def plan_writes(record: AppointmentRecord, stored: Mapping[str, Any] | None) -> WritePlan:
    """The writes, in order: reopen a closed row (Dataverse refuses to edit closed activities),
    upsert the fields, then close it as the event says."""
    if stored is None:
        return WritePlan(reopen=False, write_fields=True, close=record.state)
    stored_state = (stored.get("statecode"), stored.get("statuscode"))
    closed = stored_state[0] in CLOSED_STATECODES
    write_fields = not record.fields_match(stored)
    reopen = closed and (write_fields or record.state != stored_state)
    close = record.state if record.state and (reopen or record.state != stored_state) else None
    return WritePlan(reopen=reopen, write_fields=write_fields, close=close)


def utc_seconds(moment: datetime) -> str:
    """How Dataverse stores appointment times: UTC, whole seconds, ``Z``."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def version_text(moment: datetime) -> str:
    """Fixed-width UTC text, so comparing two versions as strings compares the instants."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _party_ids(parties: list[Any], mask: int) -> set[str]:
    return {
        str(p.get("_partyid_value") or "").lower()
        for p in parties
        if isinstance(p, Mapping) and p.get("participationtypemask") == mask
    }
