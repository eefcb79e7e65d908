"""POST /api/schedules/import through the DevHost while Dataverse fails at each step of the import.

After any fault, running the same import again must leave exactly the schedule's committed
segments (no duplicates, nothing missing), and a third run must write nothing.
"""

from __future__ import annotations

import asyncio
import copy
from typing import Any

import httpx
import pytest

from tests.support.problems import problem_retry_after
from tests.support.settings import sample_schedule

pytestmark = pytest.mark.usefixtures("release_hangs")

ROUTE = "/api/schedules/import"
SAMPLE = sample_schedule()
BOOKINGS = "bookableresourcebookings"
EXPECTED = {  # the committed segments of week-47.json
    ("Alex Smith - Phone - Inbound", "2026-11-16T14:00:00Z", "2026-11-16T16:00:00Z"),
    ("Alex Smith - Lunch", "2026-11-16T16:00:00Z", "2026-11-16T16:30:00Z"),
    ("Alex Smith - Email", "2026-11-16T16:30:00Z", "2026-11-16T18:30:00Z"),
    ("Sam Lee - Chat", "2026-11-16T18:00:00Z", "2026-11-16T22:00:00Z"),
}
REFERENCE_SETS = {"bookableresources": 2, "msdyn_shiftactivitytypes": 4, "bookingstatuses": 2, "msdyn_shiftplans": 1}

STEPS = {
    "users read": dict(method="GET", path="systemusers"),
    "reference create": dict(method="POST", path="msdyn_shiftactivitytypes"),
    "bookings read": dict(method="GET", path=BOOKINGS),
    "bookings create": dict(method="POST", path=f"{BOOKINGS}/Microsoft.Dynamics.CRM.CreateMultiple"),
}
LASTING = {
    "503": (lambda f, where: f.fail(10, status=503, **where), 503),
    "429 beyond budget": (lambda f, where: f.throttle(10, retry_after=30, **where), 503),
    "reset": (lambda f, where: f.reset_connection(10, **where), 503),
    "hang": (lambda f, where: f.hang(10, seconds=30, **where), 503),  # a Dataverse timeout is an outage: 503
}
CASES = [  # bulk writes wait up to 120 s by design, so hangs are scripted on the reads only
    pytest.param(step, fault, id=f"{step}-{fault}")
    for step in STEPS for fault in LASTING if fault != "hang" or STEPS[step]["method"] == "GET"
]


@pytest.fixture
def users(dataverse: Any) -> None:
    for email in ("a.smith@contoso.com", "s.lee@contoso.com"):
        dataverse.insert("systemusers", {"internalemailaddress": email, "fullname": "Test User"})


async def run_import(http: httpx.AsyncClient, document: Any = SAMPLE) -> httpx.Response:
    return await http.post(ROUTE, json=document)


def bookings(dataverse: Any) -> list[tuple[str, str, str]]:
    return sorted((r["name"], r["starttime"], r["endtime"]) for r in dataverse.rows(BOOKINGS))


def assert_exactly_the_schedule(dataverse: Any) -> None:
    rows = bookings(dataverse)
    assert len(rows) == len(set(rows)) and set(rows) == EXPECTED, rows
    for entity_set, count in REFERENCE_SETS.items():
        assert len(dataverse.rows(entity_set)) == count, entity_set


def writes(dataverse: Any) -> int:
    return sum(dataverse.count(method=m) for m in ("POST", "PATCH", "PUT", "DELETE"))


@pytest.mark.slow  # the exhaustive matrix, every step x every lasting fault (make test-slow, run by CI)
@pytest.mark.parametrize("step,fault", CASES)
async def test_a_lasting_fault_at_any_step_then_a_rerun_completes(dataverse, users, http, step, fault) -> None:
    inject, status = LASTING[fault]
    inject(dataverse.faults, STEPS[step])

    failed = await run_import(http)

    assert failed.status_code == status, failed.text
    problem_retry_after(failed)
    assert "Traceback" not in failed.text and "contoso.com" not in failed.text
    assert len(dataverse.rows(BOOKINGS)) <= len(EXPECTED)

    dataverse.faults.clear()
    rerun = await run_import(http)
    assert rerun.status_code == 200, rerun.text
    assert rerun.json()["created"] + rerun.json()["unchanged"] == len(EXPECTED)
    assert_exactly_the_schedule(dataverse)

    before = writes(dataverse)
    third = await run_import(http)
    assert third.json()["unchanged"] == len(EXPECTED) and writes(dataverse) == before


async def test_a_429_storm_over_every_request_is_ridden_out(dataverse, users, http) -> None:
    """Four 429s, whichever requests take them: at most four retries of one request, within its five attempts."""
    dataverse.faults.throttle(4, retry_after=0)

    answer = await run_import(http)

    assert answer.status_code == 200, answer.text
    assert answer.json()["created"] == len(EXPECTED)
    assert dataverse.faults.pending() == 0
    assert_exactly_the_schedule(dataverse)


async def test_an_outage_while_removing_then_a_rerun_removes_exactly_what_left(dataverse, users, http) -> None:
    assert (await run_import(http)).status_code == 200
    shorter = copy.deepcopy(SAMPLE)
    shorter["agents"][0]["segments"] = shorter["agents"][0]["segments"][:1]  # Lunch and Email are gone
    dataverse.faults.fail(10, status=503, method="POST", path="$batch")

    failed = await run_import(http, shorter)

    assert failed.status_code == 503, failed.text
    problem_retry_after(failed)
    dataverse.faults.clear()
    rerun = await run_import(http, shorter)
    assert rerun.status_code == 200 and rerun.json()["removed"] == 2, rerun.text
    assert set(bookings(dataverse)) == {
        ("Alex Smith - Phone - Inbound", "2026-11-16T14:00:00Z", "2026-11-16T16:00:00Z"),
        ("Sam Lee - Chat", "2026-11-16T18:00:00Z", "2026-11-16T22:00:00Z"),
    }


async def test_concurrent_duplicate_imports_leave_one_copy(dataverse, users, http) -> None:
    dataverse.latency = 0.005
    dataverse.faults.throttle(4, retry_after=0)

    from integration.schedules.importer import (
        MAX_CONCURRENT_IMPORTS,  # more at once are 503 (tests/component/schedules)
    )

    answers = await asyncio.gather(*(run_import(http) for _ in range(MAX_CONCURRENT_IMPORTS)))

    assert [a.status_code for a in answers] == [200] * MAX_CONCURRENT_IMPORTS, [a.text for a in answers]
    assert_exactly_the_schedule(dataverse)
