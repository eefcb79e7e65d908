"""Randomly broken schedule imports: answered by the contract, and nothing written from an invalid one.

An import is validated whole before any write (docs/spec.md#24-post-apischedulesimport: every problem listed, by JSON
path), so a 400 must leave Dataverse without a single write.
"""

from __future__ import annotations

from typing import Any

import httpx
from hypothesis import given
from hypothesis import strategies as st

from tests.system.hostile.answers import assert_contract_answer
from tests.system.hostile.fuzzing import FUZZ, encode, hostile_values, json_values, mutated
from tests.system.hostile.routes import SCHEDULE_IMPORT
from tests.system.hostile.stage import AGENT_EMAIL, KEYS

VALID_IMPORT: dict[str, Any] = {
    "source": "nice-iex",
    "plan": "Week 47",
    "window": {"start": "2026-11-16T00:00:00Z", "end": "2026-11-23T00:00:00Z"},
    "agents": [
        {
            "agentId": "iex-10234",
            "name": "Alex Smith",
            "email": AGENT_EMAIL,
            "segments": [
                {"activity": "Phone - Inbound", "available": True, "status": "Scheduled", "state": "committed",
                 "start": "2026-11-16T14:00:00Z", "end": "2026-11-16T16:00:00Z"},
                {"activity": "Lunch", "available": False, "status": "Scheduled",
                 "start": "2026-11-16T16:00:00Z", "end": "2026-11-16T16:30:00Z"},
            ],
        },
        {"agentId": "iex-missing", "name": "Nobody", "email": "nobody@contoso.com", "segments": []},
    ],
}
WRITES = ("POST", "PATCH", "PUT", "DELETE")


def import_(http: httpx.Client, body: bytes) -> httpx.Response:
    answer = http.post(SCHEDULE_IMPORT, content=body, headers={"x-functions-key": KEYS["hostKeys"]["default"]})
    assert_contract_answer(answer)
    assert answer.status_code in (200, 400), answer.text[:300]
    return answer


def writes(dv: Any) -> int:
    return sum(dv.count(method=method) for method in WRITES)


@FUZZ
@given(schedule=mutated(VALID_IMPORT))
def test_a_mutated_import_is_applied_or_refused_whole(http: httpx.Client, dv: Any, schedule: dict[str, Any]) -> None:
    before = writes(dv)
    answer = import_(http, encode(schedule))
    if answer.status_code == 400:
        assert answer.json()["errors"], "a 400 lists every problem"
        assert writes(dv) == before, "an invalid import wrote to Dataverse"


@FUZZ
@given(document=json_values)
def test_any_json_document_is_answered_by_the_contract(http: httpx.Client, dv: Any, document: Any) -> None:
    import_(http, encode(document))


@FUZZ
@given(agents=st.lists(hostile_values, max_size=3), segments=st.lists(hostile_values, max_size=3))
def test_hostile_agents_and_segments_are_refused_by_path(
    http: httpx.Client, dv: Any, agents: list[Any], segments: list[Any]
) -> None:
    schedule = {**VALID_IMPORT, "agents": [*agents, {**VALID_IMPORT["agents"][0], "segments": segments}]}
    before = writes(dv)
    answer = import_(http, encode(schedule))
    if answer.status_code == 400:
        assert all(p["path"].startswith("$.agents[") for p in answer.json()["errors"])
        assert writes(dv) == before


@FUZZ
@given(body=st.binary(max_size=2_000))
def test_any_bytes_are_answered_by_the_contract(http: httpx.Client, body: bytes) -> None:
    import_(http, body)


def test_the_valid_import_itself_is_applied(http: httpx.Client, dv: Any) -> None:
    """Control: the import the mutations start from writes its two bookings and skips the unknown agent."""
    summary = import_(http, encode(VALID_IMPORT)).json()
    assert summary["created"] == 2
    assert [s["agentId"] for s in summary["skipped"]] == ["iex-missing"]
    assert len(dv.rows("bookableresourcebookings")) == 2
