"""POST /api/booking-sessions through the DevHost while Dataverse throttles, fails, hangs or drops connections."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from tests.support.problems import problem_retry_after

pytestmark = pytest.mark.usefixtures("host", "release_hangs")


@pytest.fixture
def lead_id(dataverse: Any) -> str:
    return dataverse.insert(
        "leads",
        {"firstname": "Ana", "lastname": "Diaz", "emailaddress1": "ana@example.com", "telephone1": "+15555550100"},
    )


def sessions_created(sandbox: Any) -> int:
    return sum(1 for r in sandbox.requests if r["method"] == "POST" and r["path"] == "/api/sessions")


async def start(http: httpx.AsyncClient, lead_id: str) -> httpx.Response:
    return await http.post("/api/booking-sessions", json={"regarding": {"entity": "lead", "id": lead_id}})


RIDDEN_OUT = {
    "429 storm": lambda faults: faults.throttle(4, retry_after=0, path="leads"),
    "503 twice": lambda faults: faults.fail(2, status=503, path="leads"),
    "one hang": lambda faults: faults.hang(1, seconds=30, path="leads"),
    "one reset": lambda faults: faults.reset_connection(1, path="leads"),
}


@pytest.mark.parametrize("fault", list(RIDDEN_OUT))
async def test_the_client_rides_out_a_short_fault(dataverse, sandbox, http, lead_id, fault) -> None:
    RIDDEN_OUT[fault](dataverse.faults)

    answer = await start(http, lead_id)

    assert answer.status_code == 201, answer.text
    assert sandbox.sessions[answer.json()["sessionId"]]["customer"]["email"] == "ana@example.com"
    assert sessions_created(sandbox) == 1
    assert dataverse.faults.pending() == 0
    assert dataverse.count(method="GET", path="leads") <= 5


LASTING = {
    "429 beyond the retry budget": (lambda f: f.throttle(10, retry_after=30, path="leads"), 503, 30),
    "lasting 503": (lambda f: f.fail(10, status=503, path="leads"), 503, None),
    "lasting hang": (lambda f: f.hang(10, seconds=30, path="leads"), 503, None),
    "lasting resets": (lambda f: f.reset_connection(10, path="leads"), 503, None),
}


@pytest.mark.slow  # the exhaustive matrix, every step x every lasting fault (make test-slow, run by CI)
@pytest.mark.parametrize("fault", list(LASTING))
async def test_a_lasting_fault_is_503_or_504_with_retry_after_and_no_session(dataverse, sandbox, http, lead_id, fault):
    inject, status, expected_wait = LASTING[fault]
    inject(dataverse.faults)

    answer = await start(http, lead_id)

    assert answer.status_code == status, answer.text
    wait = problem_retry_after(answer)
    assert expected_wait is None or wait == expected_wait
    assert "Traceback" not in answer.text and "ana@example.com" not in answer.text
    assert sessions_created(sandbox) == 0  # the booking API is never asked without the customer's details
    assert dataverse.count(method="GET", path="leads") <= 5

    dataverse.faults.clear()
    again = await start(http, lead_id)
    assert again.status_code == 201, again.text
    assert sessions_created(sandbox) == 1


async def test_a_burst_of_clicks_during_throttling_gets_one_session(dataverse, sandbox, http, lead_id) -> None:
    dataverse.faults.throttle(6, retry_after=0, path="leads")

    answers = await asyncio.gather(*(start(http, lead_id) for _ in range(8)))

    assert [a.status_code for a in answers] == [201] * 8
    assert len({a.json()["sessionId"] for a in answers}) == 1  # one Idempotency-Key for the same record and minute
    assert len(sandbox.sessions) == 1
