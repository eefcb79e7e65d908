"""docs/spec.md#24-post-apischedulesimport: the WEM schedule import, judged by the rows it leaves in Dataverse."""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import pytest

from tests.support.problems import problem, unavailable
from tests.system.contract.dataverse_admin import DataverseAdmin, text
from tests.system.contract.schedules import AGENT_EMAIL, NOTHING, ROUTE, SETUP, bookings, run, sample


def segments(payload: dict[str, Any]) -> list[dict[str, Any]]:
    return payload["agents"][0]["segments"]


@pytest.fixture
def agent(dv) -> str:
    return dv.create("systemusers", {"firstname": "Alex", "lastname": "Smith", "internalemailaddress": AGENT_EMAIL})


def one(dv: DataverseAdmin, entity_set: str, column: str, value: str) -> dict[str, Any]:
    rows = dv.rows(entity_set, filter=f"{column} eq {text(value)}")
    assert len(rows) == 1, rows
    return rows[0]


def test_first_import_creates_reference_data_and_bookings(client, key, dv, agent) -> None:
    body = run(client, key, sample())
    assert body == {"created": 2, "updated": 0, "unchanged": 0, "removed": 0, "skipped": [],
                    "referenceData": {"resources": 1, "activityTypes": 2, "statuses": 1, "plans": 1}}
    resource = one(dv, "bookableresources", "name", "Alex Smith")
    assert resource["resourcetype"] == 3 and resource["_userid_value"] == agent
    phone = one(dv, "msdyn_shiftactivitytypes", "msdyn_name", "Phone - Inbound")
    lunch = one(dv, "msdyn_shiftactivitytypes", "msdyn_name", "Lunch")
    assert phone["msdyn_shiftassignmentstatus"] == 192350000 and lunch["msdyn_shiftassignmentstatus"] == 192350001
    status = one(dv, "bookingstatuses", "name", "Scheduled")
    assert status["status"] == 2
    plan = one(dv, "msdyn_shiftplans", "msdyn_name", "Week 47")

    first, second = bookings(dv)
    for row, activity, start, end, minutes in ((first, phone, "2026-11-16T14:00:00Z", "2026-11-16T16:00:00Z", 120),
                                              (second, lunch, "2026-11-16T16:00:00Z", "2026-11-16T16:30:00Z", 30)):
        assert row["name"] and len(row["name"]) <= 100
        assert (row["starttime"], row["endtime"], row["duration"]) == (start, end, minutes)
        assert row["bookingtype"] == 1 and row["msdyn_bookingmethod"] == 690970003
        assert row["_resource_value"] == resource["bookableresourceid"]
        assert row["_bookingstatus_value"] == status["bookingstatusid"]
        assert row["_msdyn_shiftactivitytype_value"] == activity["msdyn_shiftactivitytypeid"]
        assert row["_msdyn_shiftplan_value"] == plan["msdyn_shiftplanid"]
        assert row["_msdyn_bookingsetupmetadataid_value"] == SETUP


def test_rerun_of_the_same_payload_writes_nothing(client, key, dv, agent) -> None:
    run(client, key, sample())
    before = bookings(dv)
    dv.clear_log()
    body = run(client, key, sample())
    assert body == {"created": 0, "updated": 0, "unchanged": 2, "removed": 0, "skipped": [], "referenceData": NOTHING}
    assert dv.writes() == []
    assert bookings(dv) == before


def test_reference_data_created_only_when_missing(client, key, dv, agent) -> None:
    resource = dv.create("bookableresources", {"name": "A. Smith (existing)", "resourcetype": 3, "timezone": 85,
                                               "UserId@odata.bind": f"/systemusers({agent})"})
    status = dv.create("bookingstatuses", {"name": "Scheduled", "status": 2})
    lunch = dv.create("msdyn_shiftactivitytypes", {"msdyn_name": "Lunch", "msdyn_shiftassignmentstatus": 192350001})
    plan = dv.create("msdyn_shiftplans", {"msdyn_name": "Week 47"})
    body = run(client, key, sample())
    assert body["referenceData"] == {"resources": 0, "activityTypes": 1, "statuses": 0, "plans": 0}
    assert [r["bookableresourceid"] for r in dv.rows("bookableresources")] == [resource]
    assert [r["bookingstatusid"] for r in dv.rows("bookingstatuses")] == [status]
    assert len(dv.rows("msdyn_shiftplans")) == 1 and len(dv.rows("msdyn_shiftactivitytypes")) == 2
    phone_booking, lunch_booking = bookings(dv)
    assert {b["_resource_value"] for b in (phone_booking, lunch_booking)} == {resource}
    assert {b["_bookingstatus_value"] for b in (phone_booking, lunch_booking)} == {status}
    assert lunch_booking["_msdyn_shiftactivitytype_value"] == lunch
    assert {b["_msdyn_shiftplan_value"] for b in (phone_booking, lunch_booking)} == {plan}


def test_names_with_quotes_are_matched_not_duplicated(client, key, dv, agent) -> None:
    payload = sample()
    payload["plan"] = "O'Hare week"
    segments(payload)[0].update(activity="Agent's break", status="Won't change")
    run(client, key, payload)
    second = run(client, key, payload)
    assert second["referenceData"] == NOTHING and second["unchanged"] == 2
    assert len(dv.rows("msdyn_shiftactivitytypes")) == 2 and len(dv.rows("bookingstatuses")) == 2
    one(dv, "msdyn_shiftplans", "msdyn_name", "O'Hare week")


def test_proposed_segments_are_not_imported(client, key, dv, agent) -> None:
    payload = sample()
    segments(payload).append({"activity": "Training", "available": False, "status": "Scheduled", "state": "proposed",
                              "start": "2026-11-17T14:00:00Z", "end": "2026-11-17T15:00:00Z"})
    body = run(client, key, payload)
    assert body["created"] == 2
    assert [b["starttime"] for b in bookings(dv)] == ["2026-11-16T14:00:00Z", "2026-11-16T16:00:00Z"]


def test_cancelled_segment_removes_its_booking(client, key, dv, agent) -> None:
    run(client, key, sample())
    payload = sample()
    segments(payload)[1]["state"] = "cancelled"
    body = run(client, key, payload)
    assert (body["created"], body["updated"], body["unchanged"], body["removed"]) == (0, 0, 1, 1)
    assert [b["starttime"] for b in bookings(dv)] == ["2026-11-16T14:00:00Z"]


def test_booking_no_longer_in_the_schedule_is_removed(client, key, dv, agent) -> None:
    run(client, key, sample())
    payload = sample()
    del segments(payload)[0]
    body = run(client, key, payload)
    assert (body["created"], body["unchanged"], body["removed"]) == (0, 1, 1)
    assert [b["starttime"] for b in bookings(dv)] == ["2026-11-16T16:00:00Z"]


def test_changed_segment_is_rewritten_and_unchanged_one_is_not(client, key, dv, agent) -> None:
    run(client, key, sample())
    lunch_before = bookings(dv)[1]
    payload = sample()
    segments(payload)[0]["end"] = "2026-11-16T15:30:00Z"
    dv.clear_log()
    body = run(client, key, payload)
    assert body["unchanged"] == 1 and body["updated"] + body["created"] == 1
    assert body["removed"] == body["created"]
    phone, lunch = bookings(dv)
    assert (phone["endtime"], phone["duration"]) == ("2026-11-16T15:30:00Z", 90)
    assert lunch == lunch_before
    assert not any(lunch_before["bookableresourcebookingid"] in w for w in dv.writes())


def test_agent_without_a_user_is_skipped_and_the_rest_imported(client, key, dv, agent) -> None:
    payload = sample()
    payload["agents"].insert(0, {"agentId": "iex-99999", "name": "Nobody", "email": "nobody@contoso.com",
                                 "segments": copy.deepcopy(segments(payload))})
    body = run(client, key, payload)
    assert body["created"] == 2
    [skipped] = body["skipped"]
    assert skipped["agentId"] == "iex-99999" and isinstance(skipped["reason"], str) and skipped["reason"]
    assert len(dv.rows("bookableresources")) == 1


def _existing_booking(dv, resource: str, status: str, start: str, end: str, wem: bool) -> str:
    row = {"name": "existing", "starttime": start, "endtime": end, "duration": 60, "bookingtype": 1,
           "Resource@odata.bind": f"/bookableresources({resource})",
           "BookingStatus@odata.bind": f"/bookingstatuses({status})"}
    if wem:
        row["msdyn_bookingmethod"] = 690970003
        row["msdyn_BookingSetupMetadataId@odata.bind"] = f"/msdyn_bookingsetupmetadatas({SETUP})"
    return dv.create("bookableresourcebookings", row)


@pytest.fixture
def resource_and_status(dv, agent) -> tuple[str, str]:
    resource = dv.create("bookableresources", {"name": "Alex Smith", "resourcetype": 3, "timezone": 85,
                                               "UserId@odata.bind": f"/systemusers({agent})"})
    return resource, dv.create("bookingstatuses", {"name": "Scheduled", "status": 2})


def test_only_third_party_bookings_inside_the_window_are_replaced(client, key, dv, resource_and_status) -> None:
    resource, status = resource_and_status
    other_user = dv.create("systemusers", {"lastname": "Other", "internalemailaddress": "other@contoso.com"})
    other = dv.create("bookableresources", {"name": "Other", "resourcetype": 3, "timezone": 85,
                                            "UserId@odata.bind": f"/systemusers({other_user})"})
    inside = _existing_booking(dv, resource, status, "2026-11-18T09:00:00Z", "2026-11-18T10:00:00Z", wem=True)
    outside = _existing_booking(dv, resource, status, "2026-11-24T09:00:00Z", "2026-11-24T10:00:00Z", wem=True)
    not_wem = _existing_booking(dv, resource, status, "2026-11-18T11:00:00Z", "2026-11-18T12:00:00Z", wem=False)
    not_listed = _existing_booking(dv, other, status, "2026-11-18T09:00:00Z", "2026-11-18T10:00:00Z", wem=True)
    body = run(client, key, sample())
    assert (body["created"], body["removed"]) == (2, 1)
    ids = {b["bookableresourcebookingid"] for b in bookings(dv)}
    assert inside not in ids
    assert {outside, not_wem, not_listed} <= ids and len(ids) == 5


def test_without_window_each_agents_window_is_the_span_of_its_segments(client, key, dv, resource_and_status) -> None:
    resource, status = resource_and_status
    before = _existing_booking(dv, resource, status, "2026-11-16T12:00:00Z", "2026-11-16T13:00:00Z", wem=True)
    between = _existing_booking(dv, resource, status, "2026-11-16T15:00:00Z", "2026-11-16T15:30:00Z", wem=True)
    payload = sample()
    del payload["window"], payload["plan"]
    segments(payload)[1]["start"], segments(payload)[1]["end"] = "2026-11-16T17:00:00Z", "2026-11-16T17:30:00Z"
    body = run(client, key, payload)
    assert (body["created"], body["removed"]) == (2, 1)
    assert body["referenceData"]["plans"] == 0
    ids = {b["bookableresourcebookingid"] for b in bookings(dv)}
    assert before in ids and between not in ids
    assert all(b.get("_msdyn_shiftplan_value") is None for b in bookings(dv) if b["bookableresourcebookingid"] != before)


# 400, 413, 503, keys

def _norm(path: str) -> str:
    path = re.sub(r"^\$\.?", "", path)
    return re.sub(r"\[(\d+)\]", r".\1", path).strip(".")


def test_invalid_payload_lists_every_problem_by_json_path(client, key, dv, agent) -> None:
    payload = sample()
    payload["window"]["start"] = "not a time"
    del payload["agents"][0]["email"]
    segments(payload)[0]["end"] = "2026-11-16T13:00:00Z"
    segments(payload)[1]["state"] = "maybe"
    payload["agents"].append({"agentId": "iex-2", "name": "B", "email": "b@contoso.com", "segments": [{"start": "x"}]})
    dv.clear_log()
    body = problem(client.post(ROUTE, headers=key, json=payload), 400)
    dumped = json.dumps(body)
    paths = {_norm(p) for p in re.findall(r'"path": "([^"]*)"', dumped)}
    for expected in ("window.start", "agents.0.email", "agents.0.segments.0", "agents.0.segments.1.state",
                     "agents.1.segments.0"):
        assert any(p == expected or p.startswith(expected + ".") for p in paths), (expected, dumped)
    assert dv.writes() == []


@pytest.mark.parametrize("body", [b"not json", b"", b"[]", b"{}", b'{"agents": "x"}', b'{"agents": [{}]}',
                                  b'{"source": "x", "agents": [], "window": {"start": "2026-11-23T00:00:00Z", '
                                  b'"end": "2026-11-16T00:00:00Z"}}'])
def test_malformed_payloads_are_400(client, key, dv, body) -> None:
    problem(client.post(ROUTE, headers={**key, "content-type": "application/json"}, content=body), 400)
    assert dv.writes() == []


def test_body_over_20_mib_is_413(client, key, dv) -> None:
    body = b'{"source": "x", "agents": [], "pad": "' + b"p" * (20 * 1024 * 1024) + b'"}'
    problem(client.post(ROUTE, headers={**key, "content-type": "application/json"}, content=body), 413)
    assert dv.request_count() == 0


def test_function_key_required(client, dv) -> None:
    assert client.post(ROUTE, json=sample()).status_code == 401
    assert client.post(ROUTE, json=sample(), headers={"x-functions-key": "nope"}).status_code == 401


def test_unavailable_dataverse_is_503_with_retry_after_and_a_retry_completes(client, key, dv, dataverse, agent):
    dataverse.faults.throttle(100, retry_after=0)
    unavailable(client.post(ROUTE, headers=key, json=sample()), (503,))
    dataverse.faults.clear()
    dataverse.faults.fail(100, status=503, retry_after=0)
    unavailable(client.post(ROUTE, headers=key, json=sample()), (503,))
    dataverse.faults.clear()
    run(client, key, sample())
    assert len(bookings(dv)) == 2


@pytest.mark.parametrize("k", [1, 3, 5, 8])
def test_outage_mid_import_then_a_retry_completes(client, key, dv, dataverse, agent, k):
    dataverse.faults.hang(k, seconds=0.001)
    dataverse.faults.fail(100, status=503, retry_after=0)
    first = client.post(ROUTE, headers=key, json=sample())
    dataverse.faults.clear()
    if first.status_code != 200:
        unavailable(first, (503,))
    run(client, key, sample())
    assert len(bookings(dv)) == 2
    for entity_set in ("bookableresources", "msdyn_shiftplans", "bookingstatuses"):
        assert len(dv.rows(entity_set)) == 1, entity_set
    assert len(dv.rows("msdyn_shiftactivitytypes")) == 2
    assert run(client, key, sample())["unchanged"] == 2
