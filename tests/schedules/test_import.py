"""The schedule import over real HTTP against the Dataverse emulator (CONTRACT §2.4, seed 001)."""

from __future__ import annotations

import asyncio
import copy
import json
from pathlib import Path

import pytest

from integration.schedules.bookings import BOOKING_SETUP_METADATA_ID
from samples.schedules import generate
from tests.schedules.conftest import seed_users, writes

SAMPLE = json.loads((Path(__file__).resolve().parents[2] / "samples/schedules/week-47.json").read_text())
EMAILS = ["a.smith@contoso.com", "s.lee@contoso.com"]
BOOKINGS = "bookableresourcebookings"


@pytest.fixture
def users(dataverse, app_settings) -> dict[str, str]:
    return seed_users(dataverse, EMAILS)


def by_name(rows: list[dict], column: str = "name") -> dict[str, dict]:
    return {row[column]: row for row in rows}


async def test_fresh_import_writes_every_field_and_bind(post, dataverse, users):
    status, body, _ = await post(SAMPLE)
    assert status == 200, body
    assert body == {
        "created": 4, "updated": 0, "unchanged": 0, "removed": 0, "skipped": [],
        "referenceData": {"resources": 2, "activityTypes": 4, "statuses": 2, "plans": 1},
    }
    resources = {row["_userid_value"]: row for row in dataverse.rows("bookableresources")}
    alex = resources[users["a.smith@contoso.com"]]
    assert (alex["name"], alex["resourcetype"], alex["timezone"]) == ("Alex Smith", 3, 92)
    activity = by_name(dataverse.rows("msdyn_shiftactivitytypes"), "msdyn_name")
    assert activity["Phone - Inbound"]["msdyn_shiftassignmentstatus"] == 192350000
    assert activity["Lunch"]["msdyn_shiftassignmentstatus"] == 192350001
    assert set(activity) == {"Phone - Inbound", "Lunch", "Email", "Chat"}  # not the proposed "Training"
    statuses = by_name(dataverse.rows("bookingstatuses"))
    assert statuses["Scheduled"]["status"] == 2 and statuses["Overtime"]["status"] == 2
    plan = by_name(dataverse.rows("msdyn_shiftplans"), "msdyn_name")["Week 47"]

    bookings = {(row["name"], row["starttime"]): row for row in dataverse.rows(BOOKINGS)}
    assert len(bookings) == 4
    email = bookings[("Alex Smith - Email", "2026-11-16T16:30:00Z")]
    assert email["endtime"] == "2026-11-16T18:30:00Z" and email["duration"] == 120
    assert email["bookingtype"] == 1 and email["msdyn_bookingmethod"] == 690970003
    assert email["_resource_value"] == alex["bookableresourceid"]
    assert email["_bookingstatus_value"] == statuses["Scheduled"]["bookingstatusid"]
    assert email["_msdyn_shiftactivitytype_value"] == activity["Email"]["msdyn_shiftactivitytypeid"]
    assert email["_msdyn_shiftplan_value"] == plan["msdyn_shiftplanid"]
    assert email["_msdyn_bookingsetupmetadataid_value"] == BOOKING_SETUP_METADATA_ID
    sam = bookings[("Sam Lee - Chat", "2026-11-16T18:00:00Z")]
    assert sam["_resource_value"] == resources[users["s.lee@contoso.com"]]["bookableresourceid"]
    assert sam["_bookingstatus_value"] == statuses["Overtime"]["bookingstatusid"]


async def test_rerun_of_the_same_payload_writes_nothing(post, dataverse, users):
    assert (await post(SAMPLE))[0] == 200
    before = {row["bookableresourcebookingid"]: row for row in dataverse.rows(BOOKINGS)}
    baseline = writes(dataverse)
    status, body, _ = await post(SAMPLE)
    assert status == 200
    assert body["created"] == body["updated"] == body["removed"] == 0 and body["unchanged"] == 4
    assert body["referenceData"] == {"resources": 0, "activityTypes": 0, "statuses": 0, "plans": 0}
    assert writes(dataverse) == baseline
    assert {row["bookableresourcebookingid"]: row for row in dataverse.rows(BOOKINGS)} == before


async def test_changed_schedule_creates_updates_and_removes_only_within_scope(post, dataverse, users):
    assert (await post(SAMPLE))[0] == 200
    alex_resource = next(r["bookableresourceid"] for r in dataverse.rows("bookableresources")
                         if r["_userid_value"] == users["a.smith@contoso.com"])
    other_source = dataverse.insert("msdyn_bookingsetupmetadatas", {"msdyn_entitylogicalname": "msdyn_other"})
    foreign = dataverse.insert(BOOKINGS, {
        "name": "Manual booking", "starttime": "2026-11-16T20:00:00Z", "endtime": "2026-11-16T21:00:00Z",
        "duration": 60, "Resource@odata.bind": f"/bookableresources({alex_resource})",
        "msdyn_BookingSetupMetadataId@odata.bind": f"/msdyn_bookingsetupmetadatas({other_source})",
    })

    changed = copy.deepcopy(SAMPLE)
    segments = changed["agents"][0]["segments"]
    segments[0]["start"], segments[0]["end"] = "2026-11-16T13:00:00Z", "2026-11-16T15:00:00Z"  # moved
    segments[1]["start"] = "2026-11-16T15:00:00Z"  # lunch longer: new id, as times are part of it
    segments[2]["status"] = "Overtime"  # same segment, new status: an update
    changed["agents"][1]["segments"][0]["state"] = "cancelled"  # Sam's only segment goes
    status, body, _ = await post(changed)
    assert status == 200, body
    assert (body["created"], body["updated"], body["unchanged"], body["removed"]) == (2, 1, 0, 3)

    rows = {(row["name"], row["starttime"]): row for row in dataverse.rows(BOOKINGS)}
    assert set(rows) == {
        ("Alex Smith - Phone - Inbound", "2026-11-16T13:00:00Z"), ("Alex Smith - Lunch", "2026-11-16T15:00:00Z"),
        ("Alex Smith - Email", "2026-11-16T16:30:00Z"), ("Manual booking", "2026-11-16T20:00:00Z"),
    }
    overtime = by_name(dataverse.rows("bookingstatuses"))["Overtime"]["bookingstatusid"]
    assert rows[("Alex Smith - Email", "2026-11-16T16:30:00Z")]["_bookingstatus_value"] == overtime
    assert dataverse.row(BOOKINGS, foreign) is not None


async def test_window_limits_what_is_replaced(post, dataverse, users):
    assert (await post(SAMPLE))[0] == 200
    next_week = copy.deepcopy(SAMPLE)
    next_week["window"] = {"start": "2026-11-23T00:00:00Z", "end": "2026-11-30T00:00:00Z"}
    next_week["agents"] = [{**SAMPLE["agents"][0], "segments": []}]
    status, body, _ = await post(next_week)
    assert status == 200 and body["removed"] == 0 and body["created"] == 0
    this_week = {**next_week, "window": SAMPLE["window"]}
    status, body, _ = await post(this_week)  # Alex's week cleared; Sam, not listed, keeps his
    assert status == 200 and body["removed"] == 3
    assert [row["name"] for row in dataverse.rows(BOOKINGS)] == ["Sam Lee - Chat"]


async def test_existing_reference_rows_are_reused(post, dataverse, users):
    resource = dataverse.insert("bookableresources", {
        "name": "Alex (set up by hand)", "resourcetype": 3, "timezone": 4,
        "UserId@odata.bind": f"/systemusers({users['a.smith@contoso.com']})",
    })
    lunch = dataverse.insert("msdyn_shiftactivitytypes", {"msdyn_name": "LUNCH", "msdyn_shiftassignmentstatus": 192350001})
    scheduled = dataverse.insert("bookingstatuses", {"name": "scheduled", "status": 2})
    proposed_overtime = dataverse.insert("bookingstatuses", {"name": "Overtime", "status": 1})
    plan = dataverse.insert("msdyn_shiftplans", {"msdyn_name": "Week 47"})

    status, body, _ = await post(SAMPLE)
    assert status == 200, body
    assert body["referenceData"] == {"resources": 1, "activityTypes": 3, "statuses": 1, "plans": 0}
    assert dataverse.row("bookableresources", resource)["name"] == "Alex (set up by hand)"
    overtime = [r for r in dataverse.rows("bookingstatuses") if r["name"] == "Overtime"]
    assert sorted(r["status"] for r in overtime) == [1, 2]  # the Proposed one is not used for bookings
    bookings = by_name(dataverse.rows(BOOKINGS))
    assert bookings["Alex Smith - Lunch"]["_msdyn_shiftactivitytype_value"] == lunch
    assert bookings["Alex Smith - Lunch"]["_resource_value"] == resource
    assert bookings["Alex Smith - Lunch"]["_bookingstatus_value"] == scheduled
    assert bookings["Alex Smith - Lunch"]["_msdyn_shiftplan_value"] == plan
    assert bookings["Sam Lee - Chat"]["_bookingstatus_value"] != proposed_overtime


async def test_agent_without_user_is_skipped_and_the_rest_goes_in(post, dataverse, app_settings):
    seed_users(dataverse, ["s.lee@contoso.com"])
    status, body, _ = await post(SAMPLE)
    assert status == 200
    assert body["skipped"] == [{"agentId": "iex-10234", "reason": body["skipped"][0]["reason"]}]
    assert "email" in body["skipped"][0]["reason"] and "a.smith" not in body["skipped"][0]["reason"]
    assert body["created"] == 1 and body["referenceData"]["resources"] == 1
    assert body["referenceData"]["activityTypes"] == 1  # only what Sam's bookings need
    assert [row["name"] for row in dataverse.rows(BOOKINGS)] == ["Sam Lee - Chat"]


async def test_invalid_payload_lists_every_problem_and_touches_nothing(post, dataverse, users):
    bad = copy.deepcopy(SAMPLE)
    bad["agents"][0]["segments"][0]["end"] = "2026-11-16T13:00:00Z"
    bad["agents"][0]["segments"][1]["start"] = "2026-11-16 16:00"
    bad["agents"][1]["email"] = "nope"
    before = dataverse.count()
    status, body, response = await post(bad)
    assert status == 400 and response.mimetype == "application/problem+json"
    assert {e["path"] for e in body["errors"]} == {
        "$.agents[0].segments[0].end", "$.agents[0].segments[1].start", "$.agents[1].email",
    }
    assert dataverse.count() == before


@pytest.mark.parametrize("body", [b"", b"{oops", b"\xff\xfe", b"[]"])
async def test_not_a_schedule_is_400(post, dataverse, app_settings, body):
    status, problem, response = await post(body)
    assert status == 400 and problem["status"] == 400 and response.mimetype == "application/problem+json"


async def test_over_20_mib_is_413(post, dataverse, app_settings):
    status, problem, _ = await post(b"{" + b" " * (20 * 1024 * 1024) + b"}")
    assert status == 413 and problem["status"] == 413
    assert dataverse.count() == 0


@pytest.mark.parametrize("unit", [b"{},", b"[],", b'"ab",'])
async def test_a_body_of_millions_of_tiny_values_is_413_before_decoding(post, dataverse, app_settings, unit):
    """Under 20 MiB, but over 500 MiB as Python objects: refused from a count of its bytes."""
    body = b'{"source":"x","agents":[],"pad":[' + unit * (19 * 1024 * 1024 // len(unit)) + b"0]}"
    status, problem, _ = await post(body)
    assert status == 413 and "split the import" in problem["detail"]
    assert dataverse.count() == 0


async def test_requests_for_2000_segments_are_bounded(post, dataverse, app_settings):
    document = generate.schedule(agents=40, segments_per_agent=50)
    seed_users(dataverse, [generate.email(i) for i in range(40)])
    before = dataverse.count()
    status, body, _ = await post(document)
    assert status == 200 and body["created"] == 2000
    fresh = dataverse.count() - before
    # users 1, resources 1+1, activity types 1+1, statuses 1+1, plan 1+1, bookings read 1, creates 4
    assert fresh <= 15, fresh
    before = dataverse.count()
    status, body, _ = await post(document)
    assert body["unchanged"] == 2000 and dataverse.count() - before <= 6


async def test_quotes_and_non_ascii_in_names_and_emails_are_matched_literally(post, dataverse, app_settings):
    users = seed_users(dataverse, ["o'neil@contoso.com"])
    dataverse.insert("msdyn_shiftactivitytypes", {"msdyn_name": "Café 'break' \"B\"", "msdyn_shiftassignmentstatus": 192350001})
    document = {"source": "wem's", "plan": "Plan 'A', or \"B\")", "agents": [{
        "agentId": "id'1", "name": "Zoë O'Neil", "email": "O'Neil@contoso.com", "segments": [
            {"activity": "Café 'break' \"B\"", "available": False, "status": "It's on",
             "start": "2026-11-16T10:00:00Z", "end": "2026-11-16T10:15:00Z"}]}]}
    status, body, _ = await post(document)
    assert status == 200, body
    assert body["referenceData"] == {"resources": 1, "activityTypes": 0, "statuses": 1, "plans": 1}
    [booking] = dataverse.rows(BOOKINGS)
    assert booking["name"] == "Zoë O'Neil - Café 'break' \"B\"" and booking["duration"] == 15
    [resource] = dataverse.rows("bookableresources")
    assert resource["_userid_value"] == users["o'neil@contoso.com"]
    status, body, _ = await post(document)
    assert body["unchanged"] == 1 and body["referenceData"]["plans"] == 0


async def test_without_a_window_each_agent_replaces_the_span_of_its_own_segments(post, dataverse, users):
    document = copy.deepcopy(SAMPLE)
    del document["window"]
    assert (await post(document))[0] == 200
    alex = document["agents"][0]["segments"]
    for segment in alex:
        segment["state"] = "cancelled"
    status, body, _ = await post(document)
    assert status == 200 and body["removed"] == 3 and body["unchanged"] == 1
    assert [row["name"] for row in dataverse.rows(BOOKINGS)] == ["Sam Lee - Chat"]


async def test_imports_beyond_the_per_instance_bound_are_503_with_retry_after(post, dataverse, app_settings):
    """Each import may take ~8x its body in memory: one instance runs a bounded number at once."""
    from integration.schedules.importer import MAX_CONCURRENT_IMPORTS, imports_running

    document = generate.schedule(agents=1, segments_per_agent=2)
    dataverse.faults.hang(MAX_CONCURRENT_IMPORTS, seconds=60)  # the first Dataverse call of each import waits
    running = [asyncio.create_task(post(document)) for _ in range(MAX_CONCURRENT_IMPORTS)]
    for _ in range(1000):  # poll until both imports are inside Dataverse
        if imports_running() == MAX_CONCURRENT_IMPORTS and dataverse.faults.pending() == 0:
            break
        await asyncio.sleep(0.01)
    assert imports_running() == MAX_CONCURRENT_IMPORTS

    status, problem, response = await post(document)
    assert status == 503 and response.headers["Retry-After"] == "30" and problem["retryAfter"] == 30

    dataverse.reset()  # releases the waiting calls (dropped connections, which the client retries)
    assert [result[0] for result in await asyncio.gather(*running)] == [200] * MAX_CONCURRENT_IMPORTS
    assert imports_running() == 0
    status, _, _ = await post(document)
    assert status == 200
