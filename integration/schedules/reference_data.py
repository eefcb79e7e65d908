"""docs/business-steps.md#21-users, #22-bookable-resources, #23-shift-activity-types, #24-booking-statuses, #25-shift-plan: the users, resources, activity types, statuses and plan a schedule needs.

What exists is read in as few requests as possible (``In`` filters over the names or ids the
schedule uses); only what is missing is created, in bulk, with deterministic ids so that two
imports racing each other, or a retry after an outage, never create a second row: a chunk
refused as a duplicate is re-read and only its missing rows are created.
"""

from __future__ import annotations

import asyncio
import math
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dataverse import errors as dv_errors
from dataverse.odata import in_filters
from integration.schedules.payload import ScheduleImport
from integration.schedules.tasks import all_or_first_error

if TYPE_CHECKING:
    from dataverse import DataverseClient

RESOURCE_TYPE_USER = 3
BOOKING_STATUS_COMMITTED = 2
SHIFT_AVAILABLE = 192350000
SHIFT_NOT_AVAILABLE = 192350001
DEFAULT_RESOURCE_TIMEZONE = 92
"""Dataverse time zone code 92, "(GMT) Coordinated Universal Time": ``timezone`` is required on
create and the WEM payload carries none. Bookings are stored in UTC whatever it says."""
PAGE_SIZE = 5000
MIN_CHUNK = 50
"""Reference rows per CreateMultiple at least: below this the request's base cost outweighs the parallelism."""
_ID_NAMESPACE = uuid.UUID("5d0c8a3e-7f64-4b8e-a1d2-93c4f0e6b1a7")


@dataclass(frozen=True)
class NamedTable:
    """A reference table whose rows this import matches by name."""

    entity_set: str
    logical_name: str
    primary_key: str
    name_column: str
    extra_select: tuple[str, ...] = ()
    accepts: Callable[[Mapping[str, Any]], bool] = lambda row: True


ACTIVITY_TYPES = NamedTable("msdyn_shiftactivitytypes", "msdyn_shiftactivitytype", "msdyn_shiftactivitytypeid", "msdyn_name")
STATUSES = NamedTable(
    "bookingstatuses", "bookingstatus", "bookingstatusid", "name", ("status",),
    accepts=lambda row: row.get("status") == BOOKING_STATUS_COMMITTED,
)
PLANS = NamedTable("msdyn_shiftplans", "msdyn_shiftplan", "msdyn_shiftplanid", "msdyn_name")


@dataclass(frozen=True)
class AgentRef:
    agent_id: str
    name: str
    email: str


@dataclass
class References:
    """What the bookings point at, and how many reference rows this import created."""

    resources: dict[str, str]  # agentId -> bookableresourceid
    activity_types: dict[str, str]  # casefolded name -> id
    statuses: dict[str, str]
    plan: str | None
    unknown_agents: list[str]  # agentIds with no systemuser
    created: dict[str, int]


async def resolve(client: "DataverseClient", schedule: ScheduleImport, concurrency: int = 4) -> References:
    """Find or create every reference row the schedule's committed segments need."""
    gate = asyncio.Semaphore(concurrency)
    agents = [AgentRef(a.agentId, a.name, a.email) for a in schedule.agents]
    users = await find_users(client, [a.email for a in agents], gate)
    known = [a for a in agents if a.email.casefold() in users]
    wanted_agents = {a.agent_id for a in known}

    activities: dict[str, dict[str, Any]] = {}
    statuses: dict[str, dict[str, Any]] = {}
    for agent in schedule.agents:
        if agent.agentId not in wanted_agents:
            continue
        for seg in agent.segments:
            if seg.state != "committed":
                continue
            activities.setdefault(seg.activity.casefold(), {
                "msdyn_name": seg.activity,
                "msdyn_shiftassignmentstatus": SHIFT_AVAILABLE if seg.available else SHIFT_NOT_AVAILABLE,
            })
            statuses.setdefault(seg.status.casefold(), {"name": seg.status, "status": BOOKING_STATUS_COMMITTED})
    plans = {schedule.plan.casefold(): {"msdyn_name": schedule.plan}} if schedule.plan and wanted_agents else {}

    (resources, new_resources), (activity_ids, new_activities), (status_ids, new_statuses), (plan_ids, new_plans) = (
        await all_or_first_error((
            ensure_resources(client, known, users, gate),
            ensure_named(client, ACTIVITY_TYPES, activities, gate),
            ensure_named(client, STATUSES, statuses, gate),
            ensure_named(client, PLANS, plans, gate),
        ))
    )
    return References(
        resources=resources,
        activity_types=activity_ids,
        statuses=status_ids,
        plan=next(iter(plan_ids.values()), None),
        unknown_agents=[a.agent_id for a in agents if a.agent_id not in wanted_agents],
        created={"resources": new_resources, "activityTypes": new_activities,
                 "statuses": new_statuses, "plans": new_plans},
    )


async def find_users(client: "DataverseClient", emails: Iterable[str], gate: asyncio.Semaphore) -> dict[str, str]:
    """systemuserid by casefolded ``internalemailaddress`` (the first by id when several match)."""
    rows = await _query_in(client, "systemusers", ["systemuserid", "internalemailaddress"],
                           "internalemailaddress", emails, gate)
    found: dict[str, str] = {}
    for row in sorted(rows, key=lambda r: r["systemuserid"]):
        email = (row.get("internalemailaddress") or "").casefold()
        found.setdefault(email, row["systemuserid"].lower())
    return found


async def ensure_resources(
    client: "DataverseClient", agents: list[AgentRef], users: Mapping[str, str], gate: asyncio.Semaphore
) -> tuple[dict[str, str], int]:
    """A User bookable resource per agent (agentId -> id), and how many were created."""
    user_of = {a.agent_id: users[a.email.casefold()] for a in agents}
    rows = await _query_in(
        client, "bookableresources", ["bookableresourceid", "_userid_value", "resourcetype"],
        "_userid_value", user_of.values(), gate, extra_filter=f"resourcetype eq {RESOURCE_TYPE_USER}",
    )
    by_user: dict[str, str] = {}
    for row in sorted(rows, key=lambda r: r["bookableresourceid"]):
        by_user.setdefault((row.get("_userid_value") or "").lower(), row["bookableresourceid"].lower())
    missing: dict[str, dict[str, Any]] = {}
    for agent in agents:
        user = user_of[agent.agent_id]
        if user not in by_user and user not in missing:
            missing[user] = {
                "bookableresourceid": _row_id("bookableresource", user),
                "name": agent.name,
                "resourcetype": RESOURCE_TYPE_USER,
                "timezone": DEFAULT_RESOURCE_TIMEZONE,
                "UserId@odata.bind": f"/systemusers({user})",
            }
    created = await _create_missing(client, "bookableresources", "bookableresource", "bookableresourceid",
                                    list(missing.values()), gate)
    for user, row in missing.items():
        by_user[user] = row["bookableresourceid"]
    return {agent_id: by_user[user] for agent_id, user in user_of.items()}, created


async def ensure_named(
    client: "DataverseClient", table: NamedTable, wanted: Mapping[str, dict[str, Any]], gate: asyncio.Semaphore
) -> tuple[dict[str, str], int]:
    """Ids by casefolded name for ``wanted`` (casefolded name -> body to create), and how many were created."""
    if not wanted:
        return {}, 0
    rows = await _query_in(client, table.entity_set, [table.primary_key, table.name_column, *table.extra_select],
                           table.name_column, [body[table.name_column] for body in wanted.values()], gate)
    ids: dict[str, str] = {}
    for row in sorted(rows, key=lambda r: r[table.primary_key]):
        if table.accepts(row):
            ids.setdefault((row.get(table.name_column) or "").casefold(), row[table.primary_key].lower())
    missing = {
        name: {table.primary_key: _row_id(table.logical_name, name), **body}
        for name, body in wanted.items() if name not in ids
    }
    created = await _create_missing(client, table.entity_set, table.logical_name, table.primary_key,
                                    list(missing.values()), gate)
    ids.update({name: body[table.primary_key] for name, body in missing.items()})
    return {name: ids[name] for name in wanted}, created


async def _query_in(
    client: "DataverseClient", entity_set: str, select: list[str], column: str, values: Iterable[str],
    gate: asyncio.Semaphore, extra_filter: str | None = None,
) -> list[dict[str, Any]]:
    """Rows whose ``column`` is one of ``values``: one query per URL-sized ``In`` filter, in parallel."""

    async def one(in_filter: str) -> list[dict[str, Any]]:
        query_filter = f"{extra_filter} and {in_filter}" if extra_filter else in_filter
        async with gate:
            return await client.query_all(entity_set, select=select, filter=query_filter, page_size=PAGE_SIZE)

    pages = await all_or_first_error((one(f) for f in in_filters(column, values)))
    return [row for page in pages for row in page]


async def _create_missing(
    client: "DataverseClient", entity_set: str, logical_name: str, primary_key: str, rows: list[dict[str, Any]],
    gate: asyncio.Semaphore,
) -> int:
    """Create ``rows`` in CreateMultiple chunks side by side; returns how many this import created.

    The chunks are cut so that every request the client may run at once has some (no smaller
    than ``MIN_CHUNK`` rows, no larger than the client's chunk size). A chunk refused as a
    duplicate (a concurrent import created some of its rows) is settled on its own: one read of
    its ids, then one CreateMultiple of the rows still missing. Rows found already there are not
    counted, so ``referenceData`` reports only this import's rows.
    """
    size = min(client.chunk_size, max(MIN_CHUNK, math.ceil(len(rows) / max(1, client.parallelism))))

    async def one_chunk(pending: list[dict[str, Any]]) -> int:
        while pending:
            try:
                await client.create_multiple(entity_set, logical_name, pending, primary_key=primary_key)
            except dv_errors.Duplicate:
                found = await _query_in(client, entity_set, [primary_key], primary_key,
                                        [row[primary_key] for row in pending], gate)
                existing = {row[primary_key].lower() for row in found}
                missing = [row for row in pending if row[primary_key] not in existing]
                if len(missing) == len(pending):
                    raise  # not one of these ids exists: the duplicate is about something else
                pending = missing
            else:
                return len(pending)
        return 0

    counts = await all_or_first_error(one_chunk(rows[start : start + size]) for start in range(0, len(rows), size))
    return sum(counts)


def _row_id(logical_name: str, natural_key: str) -> str:
    return str(uuid.uuid5(_ID_NAMESPACE, f"{logical_name}\x1f{natural_key}"))
