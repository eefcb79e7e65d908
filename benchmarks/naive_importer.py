"""The baseline: docs/business-steps.md#2-wem-schedule-import followed literally, one lookup and one record at a time.

For every agent: find the user, find (or create) the bookable resource. For every segment:
find (or create) the activity type, the booking status and the plan, look for the booking,
and create it. About five requests per segment; it never removes anything. It exists only
so ``benchmarks/schedule_import.py`` can say how much the bulk importer saves.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from dataverse import DataverseClient
from dataverse.odata import literal

SETUP_METADATA = "4beb9fdb-48e9-453f-b008-5862ff902c5d"


async def _find(client: DataverseClient, entity_set: str, key: str, filter: str) -> str | None:
    rows = await client.query_all(entity_set, select=[key], filter=filter, top=1)
    return rows[0][key] if rows else None


async def _find_or_create(client: DataverseClient, entity_set: str, key: str, name_column: str,
                          name: str, extra: dict[str, Any]) -> str:
    found = await _find(client, entity_set, key, f"{name_column} eq {literal(name)}")
    return found or await client.create(entity_set, {name_column: name, **extra})


async def naive_import(client: DataverseClient, document: dict[str, Any]) -> dict[str, int]:
    created = existing = 0
    for agent in document["agents"]:
        user = await _find(client, "systemusers", "systemuserid", f"internalemailaddress eq {literal(agent['email'])}")
        if user is None:
            continue
        resource = await _find(client, "bookableresources", "bookableresourceid", f"_userid_value eq {user}")
        if resource is None:
            resource = await client.create("bookableresources", {
                "name": agent["name"], "resourcetype": 3, "timezone": 92,
                "UserId@odata.bind": f"/systemusers({user})",
            })
        for segment in agent["segments"]:
            if segment.get("state", "committed") != "committed":
                continue
            activity = await _find_or_create(
                client, "msdyn_shiftactivitytypes", "msdyn_shiftactivitytypeid", "msdyn_name", segment["activity"],
                {"msdyn_shiftassignmentstatus": 192350000 if segment["available"] else 192350001},
            )
            status = await _find_or_create(client, "bookingstatuses", "bookingstatusid", "name", segment["status"],
                                           {"status": 2})
            plan = await _find_or_create(client, "msdyn_shiftplans", "msdyn_shiftplanid", "msdyn_name",
                                         document["plan"], {})
            start, end = segment["start"], segment["end"]
            if await _find(client, "bookableresourcebookings", "bookableresourcebookingid",
                           f"_resource_value eq {resource} and starttime eq {start} and endtime eq {end}"):
                existing += 1
                continue
            await client.create("bookableresourcebookings", {
                "name": f"{agent['name']} - {segment['activity']}"[:100],
                "starttime": start, "endtime": end, "duration": _minutes(start, end), "bookingtype": 1,
                "msdyn_bookingmethod": 690970003,
                "Resource@odata.bind": f"/bookableresources({resource})",
                "BookingStatus@odata.bind": f"/bookingstatuses({status})",
                "msdyn_shiftactivitytype@odata.bind": f"/msdyn_shiftactivitytypes({activity})",
                "msdyn_shiftplan@odata.bind": f"/msdyn_shiftplans({plan})",
                "msdyn_BookingSetupMetadataId@odata.bind": f"/msdyn_bookingsetupmetadatas({SETUP_METADATA})",
            })
            created += 1
    return {"created": created, "existing": existing}


def _minutes(start: str, end: str) -> int:
    return round((datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds() / 60)
