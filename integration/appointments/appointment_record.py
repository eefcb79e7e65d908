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

from dataverse.activity_parties import ORGANIZER, REQUIRED, party
from dataverse.odata import bind
from integration.appointments.events import AppointmentData

State = tuple[int, int]
OPEN: State = (0, 1)
COMPLETED: State = (1, 3)
CANCELLED: State = (2, 4)
CLOSED_STATECODES = frozenset({1, 2})
DATE_COLUMNS = ("scheduledstart", "scheduledend")
PARTIES = "appointment_activity_parties"
SUBJECT_MAX = 200
LOCATION_MAX = 200
DESCRIPTION_MAX = 2000


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

    def parties(self) -> list[dict[str, Any]]:
        """Customer as required attendee, staff member (when found) as organizer."""
        parties = [party(self.regarding.entity, self.regarding.id, REQUIRED)]
        if self.organizer_id:
            parties.append(party("systemuser", self.organizer_id, ORGANIZER))
        return parties

    def fields(self) -> dict[str, Any]:
        """Columns and the regarding bind: the body of an update."""
        bind_name = f"regardingobjectid_{self.regarding.entity}_appointment@odata.bind"
        return {**self.columns, bind_name: bind(self.regarding.entity_set, self.regarding.id)}

    def new_row(self) -> dict[str, Any]:
        """The body of a create: fields plus the parties as a deep insert (only allowed on create)."""
        return {**self.fields(), PARTIES: self.parties()}

    def fields_match(self, stored: Mapping[str, Any]) -> bool:
        for column, wanted in self.columns.items():
            have = stored.get(column)
            if column in DATE_COLUMNS and isinstance(have, str):
                have = utc_seconds(datetime.fromisoformat(have.replace("Z", "+00:00")))
            if have != wanted:
                return False
        return (stored.get("_regardingobjectid_value") or "").lower() == self.regarding.id

    def parties_match(self, stored: Mapping[str, Any]) -> bool:
        """Compares only what we set: Dataverse adds regarding (8) and owner (9) parties itself."""
        parties = stored.get(PARTIES)
        if not isinstance(parties, list):
            return False
        return _party_ids(parties, REQUIRED) == {self.regarding.id} and (
            self.organizer_id is None or _party_ids(parties, ORGANIZER) == {self.organizer_id}
        )


@dataclass(frozen=True)
class WritePlan:
    reopen: bool
    write_fields: bool
    close: State | None
    write_parties: bool = False
    """Only for an existing row: a new row gets its parties with the create."""

    @property
    def empty(self) -> bool:
        return not (self.reopen or self.write_fields or self.write_parties or self.close)


def build_record(
    data: AppointmentData,
    *,
    row_id: str,
    regarding: CustomerRef,
    organizer_id: str | None,
    version_column: str | None,
) -> AppointmentRecord:
    columns: dict[str, Any] = {
        "subject": fit(data.subject or f"Booking {data.appointmentId}", SUBJECT_MAX),
        "scheduledstart": utc_seconds(data.start),
        "scheduledend": utc_seconds(data.end),
        "scheduleddurationminutes": int((data.end - data.start).total_seconds() // 60),
        "location": fit(data.location, LOCATION_MAX) or None,
        "description": description(data.notes, data.appointmentId),
    }
    if version_column:
        columns[version_column] = version_text(data.updatedAt)
    state = {"scheduled": None, "cancelled": CANCELLED, "completed": COMPLETED}[data.status]
    return AppointmentRecord(row_id, columns, regarding, organizer_id, state)


def description(notes: str | None, appointment_id: str) -> str:
    """The notes, cut to fit, then the booking reference, which always survives."""
    reference = f"Booking reference: {appointment_id}"
    if not notes:
        return reference
    return f"{fit(notes, DESCRIPTION_MAX - len(reference) - 2)}\n\n{reference}"


def fit(text: str | None, limit: int) -> str | None:
    """``text`` within ``limit`` characters, marked with an ellipsis when cut."""
    if text is None or len(text) <= limit:
        return text
    return text[: limit - 1] + "…"


def plan_writes(record: AppointmentRecord, stored: Mapping[str, Any] | None) -> WritePlan:
    """The writes, in order: reopen a closed row (Dataverse refuses to edit closed activities),
    upsert the fields, then close it as the event says."""
    if stored is None:
        return WritePlan(reopen=False, write_fields=True, close=record.state)
    stored_state = (stored.get("statecode"), stored.get("statuscode"))
    closed = stored_state[0] in CLOSED_STATECODES
    write_fields = not record.fields_match(stored)
    write_parties = not record.parties_match(stored)
    reopen = closed and (write_fields or write_parties or record.state != stored_state)
    close = record.state if record.state and (reopen or record.state != stored_state) else None
    return WritePlan(reopen=reopen, write_fields=write_fields, close=close, write_parties=write_parties)


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
