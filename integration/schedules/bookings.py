"""Seed 001 step 6: the bookings a schedule asks for, and what must change to get there.

Booking ids are deterministic (uuid5 of source, agent, start, end and activity), so a retry
or a re-run of the same schedule lands on the same rows: compare, write only what differs,
and remove this import's bookings that the schedule no longer has.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from integration.errors import UpstreamRejected
from integration.schedules.payload import ScheduleImport

ENTITY_SET = "bookableresourcebookings"
LOGICAL_NAME = "bookableresourcebooking"
PRIMARY_KEY = "bookableresourcebookingid"
BOOKING_SETUP_METADATA_ID = "4beb9fdb-48e9-453f-b008-5862ff902c5d"
"""The booking setup metadata of WEM / third-party imported bookings (seed 001)."""
BOOKING_TYPE_SOLID = 1
BOOKING_METHOD_MANUAL = 690970003
NAME_MAX_LENGTH = 100
_ID_NAMESPACE = uuid.UUID("0b5f6a47-3c1e-4d3a-9a55-2f0d1c0e7b21")

SELECT = (
    PRIMARY_KEY, "name", "starttime", "endtime", "duration", "bookingtype", "msdyn_bookingmethod",
    "_resource_value", "_bookingstatus_value", "_msdyn_shiftactivitytype_value", "_msdyn_shiftplan_value",
    "_msdyn_bookingsetupmetadataid_value",
)


def booking_id(source: str, agent_id: str, start: datetime | str, end: datetime | str, activity: str) -> str:
    """The primary key of one segment's booking, the same on every run."""
    parts = (source, agent_id, _utc(start), _utc(end), activity.casefold())
    return str(uuid.uuid5(_ID_NAMESPACE, "\x1f".join(parts)))


def booking_name(agent_name: str, activity: str) -> str:
    """``<agent> - <activity>``, cut to the column's 100 characters (never rejected for length)."""
    name = f"{agent_name} - {activity}"
    return name if len(name) <= NAME_MAX_LENGTH else name[: NAME_MAX_LENGTH - 1] + "…"


@dataclass(frozen=True, slots=True)
class Booking:
    """One booking as this import wants it (or as Dataverse has it), in comparable form."""

    id: str
    name: str
    start: str
    end: str
    duration: int
    resource: str
    status: str
    activity_type: str
    plan: str | None
    booking_type: int = BOOKING_TYPE_SOLID
    method: int = BOOKING_METHOD_MANUAL
    setup_metadata: str = BOOKING_SETUP_METADATA_ID

    def body(self) -> dict[str, Any]:
        """The Web API body, every field and bind of seed 001 step 6."""
        body: dict[str, Any] = {
            PRIMARY_KEY: self.id,
            "name": self.name,
            "starttime": self.start,
            "endtime": self.end,
            "duration": self.duration,
            "bookingtype": self.booking_type,
            "msdyn_bookingmethod": self.method,
            "Resource@odata.bind": f"/bookableresources({self.resource})",
            "BookingStatus@odata.bind": f"/bookingstatuses({self.status})",
            "msdyn_shiftactivitytype@odata.bind": f"/msdyn_shiftactivitytypes({self.activity_type})",
            "msdyn_BookingSetupMetadataId@odata.bind": f"/msdyn_bookingsetupmetadatas({self.setup_metadata})",
        }
        if self.plan is not None:
            body["msdyn_shiftplan@odata.bind"] = f"/msdyn_shiftplans({self.plan})"
        return body


@dataclass(frozen=True, slots=True)
class Desired:
    """A booking to hold, with where it came from (for reports)."""

    booking: Booking
    agent_id: str
    path: str


@dataclass(frozen=True)
class ResolvedReferences:
    """Ids the bookings point at; an agent missing from ``resources`` is skipped."""

    resources: Mapping[str, str]  # agentId -> bookableresourceid
    activity_types: Mapping[str, str]  # activity name casefolded -> id
    statuses: Mapping[str, str]  # status name casefolded -> id
    plan: str | None


def desired_bookings(schedule: ScheduleImport, refs: ResolvedReferences) -> Iterator[Desired]:
    """One booking per committed segment of every agent that has a resource."""
    for i, agent in enumerate(schedule.agents):
        resource = refs.resources.get(agent.agentId)
        if resource is None:
            continue
        for j, seg in enumerate(agent.segments):
            if seg.state != "committed":
                continue
            start, end = _utc(seg.start), _utc(seg.end)
            booking = Booking(
                id=booking_id(schedule.source, agent.agentId, start, end, seg.activity),
                name=booking_name(agent.name, seg.activity),
                start=start,
                end=end,
                duration=round((seg.end - seg.start).total_seconds() / 60),
                resource=resource,
                status=refs.statuses[seg.status.casefold()],
                activity_type=refs.activity_types[seg.activity.casefold()],
                plan=refs.plan,
            )
            yield Desired(booking, agent.agentId, f"$.agents[{i}].segments[{j}]")


def existing_booking(row: Mapping[str, Any]) -> Booking:
    """A row read with :data:`SELECT`, in the same comparable form as a desired booking.

    Its times come from outside: one that is missing, not an ISO-8601 string with an offset, or
    outside what UTC can hold is a bad answer from Dataverse (502), never a crash.
    """
    try:
        start, end = _utc(_aware(row["starttime"])), _utc(_aware(row["endtime"]))
    except (KeyError, TypeError, ValueError, OverflowError):
        raise UpstreamRejected(
            f"Dataverse answered a {LOGICAL_NAME} without a readable starttime and endtime."
        ) from None
    return Booking(
        id=_lower(row[PRIMARY_KEY]),
        name=row.get("name") or "",
        start=start,
        end=end,
        duration=row.get("duration"),
        resource=_lower(row.get("_resource_value")),
        status=_lower(row.get("_bookingstatus_value")),
        activity_type=_lower(row.get("_msdyn_shiftactivitytype_value")),
        plan=_lower(row.get("_msdyn_shiftplan_value")) or None,
        booking_type=row.get("bookingtype"),
        method=row.get("msdyn_bookingmethod"),
        setup_metadata=_lower(row.get("_msdyn_bookingsetupmetadataid_value")),
    )


@dataclass
class Changes:
    create: list[Desired] = field(default_factory=list)
    update: list[Desired] = field(default_factory=list)
    unchanged: int = 0
    remove: list[Booking] = field(default_factory=list)


def diff(desired: Iterable[Desired], existing: Iterable[Booking], in_scope: "ScopeTest") -> Changes:
    """What to write so that Dataverse holds exactly ``desired`` within the replaced scope.

    ``existing`` are this import's bookings on the listed agents' resources; those that
    ``in_scope`` accepts and that are not desired are removed.
    """
    current = {b.id: b for b in existing}
    changes = Changes()
    wanted: set[str] = set()
    for item in desired:
        wanted.add(item.booking.id)
        have = current.get(item.booking.id)
        if have is None:
            changes.create.append(item)
        elif have == item.booking:
            changes.unchanged += 1
        else:
            changes.update.append(item)
    changes.remove = sorted((b for b in current.values() if b.id not in wanted and in_scope(b)), key=lambda b: b.id)
    return changes


class ScopeTest:
    """Is an existing booking inside the window this import replaces for its resource?"""

    def __init__(self, windows: Mapping[str, tuple[datetime, datetime]]):
        self._windows = {resource: (_utc(start), _utc(end)) for resource, (start, end) in windows.items()}

    def __call__(self, booking: Booking) -> bool:
        window = self._windows.get(booking.resource)
        return window is not None and window[0] <= booking.start < window[1]


_UTC_SECONDS = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z")


def _aware(value: Any) -> datetime | str:
    """A time as Dataverse answers it: ``Z`` form as is, else an ISO-8601 string with an offset."""
    if not isinstance(value, str):
        raise TypeError("not a string")
    if _UTC_SECONDS.fullmatch(value):
        datetime.fromisoformat(value)  # a real date: no 30 February, no hour 24
        return value
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise ValueError("no offset")
    return parsed


def _utc(value: datetime | str) -> str:
    """``YYYY-MM-DDTHH:MM:SSZ``, the form Dataverse returns (ISO strings compare in time order)."""
    if isinstance(value, str):
        if len(value) == 20 and value[-1] == "Z":
            return value
        value = datetime.fromisoformat(value)
    return value.astimezone(timezone.utc).isoformat(timespec="seconds")[:19] + "Z"


def _lower(value: Any) -> str:
    return str(value).lower() if value else ""
