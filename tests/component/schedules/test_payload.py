"""Validation of the WEM payload: every problem found, by JSON path, before anything is written."""

from __future__ import annotations

import copy
import json
from datetime import datetime, timezone

import pytest

from integration.errors import InvalidInput, PayloadTooLarge
from integration.schedules.payload import MAX_BODY_BYTES, MAX_SEGMENTS, parse_import, validate_import

GOOD = {
    "source": "nice-iex",
    "plan": "Week 47",
    "window": {"start": "2026-11-16T00:00:00Z", "end": "2026-11-23T00:00:00Z"},
    "agents": [
        {
            "agentId": "iex-10234",
            "name": "Alex Smith",
            "email": "a.smith@contoso.com",
            "segments": [
                {"activity": "Phone - Inbound", "available": True, "status": "Scheduled", "state": "committed",
                 "start": "2026-11-16T14:00:00Z", "end": "2026-11-16T16:00:00Z"},
                {"activity": "Lunch", "available": False, "status": "Scheduled",
                 "start": "2026-11-16T11:00:00-05:00", "end": "2026-11-16T16:30:00Z"},
            ],
        }
    ],
}


def problems(document) -> dict[str, str]:
    with pytest.raises(InvalidInput) as caught:
        validate_import(document)
    return {p.path: p.message for p in caught.value.problems}


def test_contract_example_is_valid_and_times_become_utc():
    schedule = parse_import(json.dumps(GOOD).encode())
    lunch = schedule.agents[0].segments[1]
    assert lunch.start == datetime(2026, 11, 16, 16, 0, tzinfo=timezone.utc)
    assert lunch.state == "committed" and lunch.available is False
    assert schedule.plan == "Week 47" and schedule.segment_count == 2


def test_plan_and_window_are_optional_and_the_window_defaults_to_the_agents_span():
    doc = copy.deepcopy(GOOD)
    del doc["plan"], doc["window"]
    schedule = validate_import(doc)
    assert schedule.plan is None
    assert schedule.agent_window(schedule.agents[0]) == (
        datetime(2026, 11, 16, 14, tzinfo=timezone.utc), datetime(2026, 11, 16, 16, 30, tzinfo=timezone.utc)
    )


def test_canceled_spelling_is_accepted():
    doc = copy.deepcopy(GOOD)
    doc["agents"][0]["segments"][0]["state"] = "canceled"
    assert validate_import(doc).agents[0].segments[0].state == "cancelled"


def test_every_problem_is_listed_by_path():
    doc = copy.deepcopy(GOOD)
    agent = doc["agents"][0]
    agent["email"] = "not-an-email"
    agent["name"] = "   "
    agent["segments"][0]["end"] = "2026-11-16T13:00:00Z"  # before start
    agent["segments"][1]["start"] = "2026-11-16T16:00:00"  # no offset
    agent["segments"][1]["available"] = "no"
    doc["agents"].append({"agentId": "iex-2", "name": "B", "email": "b@contoso.com",
                          "segments": [{"activity": "", "available": True, "state": "maybe",
                                        "start": "2026-11-16T14:00:00Z", "end": "2026-11-16T15:00:00Z"}]})
    doc["agents"].append("junk")
    found = problems(doc)
    assert found == {
        "$.agents[0].email": "is not a valid email address",
        "$.agents[0].name": found["$.agents[0].name"],
        "$.agents[0].segments[0].end": "must be after start",
        "$.agents[0].segments[1].start": "must carry an offset or Z",
        "$.agents[0].segments[1].available": found["$.agents[0].segments[1].available"],
        "$.agents[1].segments[0].activity": found["$.agents[1].segments[0].activity"],
        "$.agents[1].segments[0].state": found["$.agents[1].segments[0].state"],
        "$.agents[2]": "must be a JSON object",
    }


def test_missing_fields_are_named():
    found = problems({"agents": [{"segments": [{}]}]})
    assert {"$.source", "$.agents[0].agentId", "$.agents[0].name", "$.agents[0].email",
            "$.agents[0].segments[0].activity", "$.agents[0].segments[0].available",
            "$.agents[0].segments[0].start", "$.agents[0].segments[0].end"} <= set(found)


def test_overlapping_segments_of_one_agent_are_rejected_but_cancelled_ones_do_not_count():
    doc = copy.deepcopy(GOOD)
    segments = doc["agents"][0]["segments"]
    segments.append({"activity": "Email", "available": True, "start": "2026-11-16T09:00:00Z",
                     "end": "2026-11-16T20:00:00Z"})
    segments.append({"activity": "Chat", "available": True, "start": "2026-11-16T15:00:00Z",
                     "end": "2026-11-16T15:30:00Z", "state": "cancelled"})
    found = problems(doc)
    assert found == {"$.agents[0].segments[0].start": "overlaps $.agents[0].segments[2]",
                     "$.agents[0].segments[1].start": "overlaps $.agents[0].segments[2]"}


def test_cross_agent_and_window_rules():
    doc = copy.deepcopy(GOOD)
    twin = copy.deepcopy(doc["agents"][0])
    twin["email"] = "A.Smith@Contoso.com"
    twin["segments"][1]["available"] = True
    doc["agents"].append(twin)
    doc["agents"][0]["segments"][0]["start"] = "2026-11-15T23:00:00Z"
    doc["window"]["end"] = "2026-11-15T00:00:00Z"
    found = problems(doc)
    assert found["$.window.end"] == "must be after start"
    assert found["$.agents[1].agentId"] == "repeats $.agents[0].agentId"
    assert found["$.agents[1].email"] == "repeats $.agents[0].email"
    assert found["$.agents[0].segments[0]"] == "lies outside $.window"
    assert found["$.agents[1].segments[1].available"] == (
        "contradicts $.agents[0].segments[1].available for the same activity"
    )


def test_fractional_seconds_only_when_zero():
    doc = copy.deepcopy(GOOD)
    doc["agents"][0]["segments"][0]["start"] = "2026-11-16T14:00:00.000Z"
    validate_import(doc)
    doc["agents"][0]["segments"][0]["start"] = "2026-11-16T14:00:00.250Z"
    assert "$.agents[0].segments[0].start" in problems(doc)


def test_not_json_and_not_an_object():
    with pytest.raises(InvalidInput) as caught:
        parse_import(b"\xff{not json")
    assert caught.value.problems[0].path == "$"
    assert list(problems([1, 2])) == ["$"]


def test_too_large_body_is_413_before_parsing():
    with pytest.raises(PayloadTooLarge):
        parse_import(b" " * (MAX_BODY_BYTES + 1))


def test_segment_count_is_bounded():
    segment = {"activity": "A", "available": True, "start": "2026-11-16T00:00:00Z", "end": "2026-11-16T00:01:00Z"}
    agents = [{"agentId": str(i), "name": "N", "email": f"u{i}@x.example", "segments": [segment] * 1}
              for i in range(2)]
    agents[0]["segments"] = [segment] * MAX_SEGMENTS  # overlapping too; the size rule is what we check
    with pytest.raises(InvalidInput) as caught:
        validate_import({"source": "s", "agents": agents})
    paths = {p.path for p in caught.value.problems}
    assert "$.agents" in paths
    assert len(caught.value.problems) <= 1000


def test_dates_before_dataverse_minimum_are_rejected():
    doc = copy.deepcopy(GOOD)
    doc["agents"][0]["segments"][0]["start"] = "1700-11-16T14:00:00Z"
    doc["window"]["start"] = "1700-01-01T00:00:00Z"
    assert "$.agents[0].segments[0].start" in problems(doc)


@pytest.mark.parametrize("value", ["9999-12-31T20:00:00-05:00", "1700-06-01T00:00:00Z"])
def test_times_dataverse_cannot_store_are_a_400_naming_the_field(value):
    document = {"source": "wem", "agents": [{"agentId": "a1", "name": "A", "email": "a@b.co", "segments": [
        {"activity": "Phone", "available": True, "status": "Scheduled", "start": value, "end": "9999-12-31T23:00:00Z"}]}]}
    with pytest.raises(InvalidInput) as caught:
        parse_import(json.dumps(document).encode())
    assert "$.agents[0].segments[0].start" in [p.path for p in caught.value.problems]
