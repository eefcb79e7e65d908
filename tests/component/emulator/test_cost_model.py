"""The emulator's cost model: documented 429 codes, messages and Retry-After; the dop hint; the costs.

Limits are lowered in most tests (a profile is configurable) so that they trip in a few
requests; the documented defaults are checked on the messages and on the concurrency limit.
Windows are exercised with a fake clock where time matters, never with sleeps.
"""

from __future__ import annotations

import asyncio
import base64
import json
from dataclasses import replace

import httpx
import pytest

from emulators.dataverse import DataverseEmulator
from emulators.dataverse.hosting.cost_model import (
    CONCURRENCY_CODE,
    EXECUTION_CODE,
    REQUESTS_CODE,
    CostModel,
    CostProfile,
    Ledger,
    Throttle,
    Work,
    classify,
    floor_seconds,
    messages,
    user_of,
)

STANDARD = CostProfile()
DOCUMENTED = {
    "0x80072322": "Number of requests exceeded the limit of 6000 over time window of 300 seconds.",
    "0x80072321": "Combined execution time of incoming requests exceeded limit of 1,200,000 milliseconds over time "
                  "window of 300 seconds. Decrease number of concurrent requests or reduce the duration of requests "
                  "and try again later.",
    "0x80072326": "Number of concurrent requests exceeded the limit of 52.",
}


@pytest.fixture(scope="module")
def costed():
    with DataverseEmulator(cost_model="standard", time_compression=100) as emulator:
        yield emulator


@pytest.fixture
def emu(costed):
    costed.reset()
    costed.costs.model = CostModel(STANDARD, time_compression=100)
    return costed


def api(emu: DataverseEmulator, token: str | None = None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.Client(base_url=emu.api_url, headers=headers, timeout=30)


def jwt(subject: str) -> str:
    claims = base64.urlsafe_b64encode(json.dumps({"sub": subject}).encode()).decode().rstrip("=")
    return f"eyJhbGciOiJub25lIn0.{claims}.c2ln"


def throttle_of(response: httpx.Response) -> tuple[str, str, float]:
    assert response.status_code == 429, response.text
    error = response.json()["error"]
    return error["code"], error["message"], float(response.headers["Retry-After"])


def test_default_messages_are_microsofts_word_for_word():
    assert messages(STANDARD) == DOCUMENTED


def test_request_count_limit_answers_0x80072322_and_the_wait_grows_under_pressure(emu):
    emu.costs.model = CostModel(replace(STANDARD, max_requests=5), time_compression=100)
    with api(emu) as client:
        assert all(client.get("systemusers").status_code == 200 for _ in range(5))
        code, message, first = throttle_of(client.get("systemusers"))
        assert code == REQUESTS_CODE
        assert message == "Number of requests exceeded the limit of 5 over time window of 300 seconds."
        assert 0 < first <= 3.0  # the oldest request leaves the window (300 model s = 3 s here) within 3 s
        waits = [throttle_of(client.get("systemusers"))[2] for _ in range(3)]
    assert first < waits[0] < waits[1] < waits[2]
    assert emu.costs.model.ledger.throttled[REQUESTS_CODE] == 4 and emu.costs.model.ledger.requests == 5


def test_execution_time_limit_answers_0x80072321_once_the_budget_is_spent(emu):
    emu.costs.model = CostModel(replace(STANDARD, max_execution_seconds=0.25), time_compression=100)
    with api(emu) as client:
        answers = [client.get("systemusers") for _ in range(4)]
    assert [a.status_code for a in answers[:3]] == [200, 200, 200]  # 0.1 s each: the third crosses 0.25 s
    code, message, wait = throttle_of(answers[3])
    assert code == EXECUTION_CODE
    assert message.startswith("Combined execution time of incoming requests exceeded limit of 250 milliseconds")
    assert wait > 0


async def test_the_53rd_concurrent_request_is_refused_at_once_with_0x80072326(emu):
    # Each GET is held 1.5 s (a hint of 52, so no overload stretch): long enough for all 52 to be
    # inside the server together even on a loaded machine.
    emu.costs.model = CostModel(replace(STANDARD, read=150.0, dop_hint=52), time_compression=100)
    model = emu.costs.model
    async with httpx.AsyncClient(base_url=emu.api_url, limits=httpx.Limits(max_connections=60), timeout=30) as client:
        held = [asyncio.ensure_future(client.get("systemusers")) for _ in range(52)]
        for _ in range(2000):  # until all 52 are inside the server (bounded poll, no clock assumed)
            if model.ledger.max_in_flight == 52:
                break
            await asyncio.sleep(0.005)
        assert model.ledger.max_in_flight == 52, "the 52 held requests never were in the server together"
        refused = await client.get("systemusers")
        answers = await asyncio.gather(*held)
    code, message, wait = throttle_of(refused)
    assert (code, message) == (CONCURRENCY_CODE, DOCUMENTED[CONCURRENCY_CODE])
    assert wait > 0
    assert [a.status_code for a in answers] == [200] * 52


def test_each_user_has_its_own_window(emu):
    emu.costs.model = CostModel(replace(STANDARD, max_requests=2), time_compression=100)
    with api(emu, jwt("app-one")) as one, api(emu, jwt("app-two")) as two, api(emu) as anonymous:
        assert [one.get("systemusers").status_code for _ in range(3)] == [200, 200, 429]
        assert [two.get("systemusers").status_code for _ in range(2)] == [200, 200]
        assert anonymous.get("systemusers").status_code == 200


def test_the_dop_hint_is_on_every_answer_and_configurable(emu, costed):
    with api(emu) as client:
        assert client.get("systemusers").headers["x-ms-dop-hint"] == "5"
        assert client.get("nosuchset").headers["x-ms-dop-hint"] == "5"
        control = httpx.put(f"{emu.url}/_emulator/cost-model",
                            json={"profile": "standard", "time_compression": 50, "dop_hint": 1})
        assert control.status_code == 200 and control.json()["profile"]["dop_hint"] == 1
        assert client.get("systemusers").headers["x-ms-dop-hint"] == "1"
        assert httpx.put(f"{emu.url}/_emulator/cost-model", json={"dop_hint": "many"}).status_code == 400
        assert httpx.delete(f"{emu.url}/_emulator/cost-model").json() == {"enabled": False}
        assert client.get("systemusers").headers["x-ms-dop-hint"] == "4"  # the emulator's own, model off
        assert httpx.get(f"{emu.url}/_emulator/cost-model").json() == {"enabled": False}


def test_rows_written_and_read_are_charged_as_the_profile_says(emu):
    targets = [{"@odata.type": "Microsoft.Dynamics.CRM.msdyn_shiftplan", "msdyn_name": f"Plan {n}"} for n in range(10)]
    with api(emu) as client:
        created = client.post("msdyn_shiftplans/Microsoft.Dynamics.CRM.CreateMultiple", json={"Targets": targets})
        assert created.status_code == 200, created.text
        read = client.get("msdyn_shiftplans", params={"$select": "msdyn_name"})
    ledger = emu.costs.model.ledger
    assert (ledger.created, ledger.read) == (10, len(read.json()["value"])) and ledger.read >= 10
    expected = STANDARD.bulk + 10 * STANDARD.bulk_create_per_row + STANDARD.read + ledger.read * STANDARD.read_per_row
    assert ledger.execution_seconds == pytest.approx(expected)


def test_batch_parts_are_counted_by_method():
    body = (b"--batch_1\r\nContent-Type: application/http\r\n\r\nDELETE /api/data/v9.2/x(1) HTTP/1.1\r\n\r\n"
            b"--batch_1\r\nContent-Type: application/http\r\n\r\nDELETE /api/data/v9.2/x(2) HTTP/1.1\r\n\r\n"
            b"--batch_1\r\nContent-Type: application/http\r\n\r\nPOST /api/data/v9.2/x HTTP/1.1\r\n\r\n{}\r\n--batch_1--")
    work = classify("POST", "/api/data/v9.2/$batch", body)
    assert (work.kind, work.deleted, work.created) == ("batch", 2, 1)
    assert work.seconds(STANDARD, True) == pytest.approx(STANDARD.batch + 2 * STANDARD.batch_delete_per_part
                                                         + STANDARD.batch_per_part)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_window_slides_and_retry_after_says_when_the_oldest_request_leaves_it():
    clock = FakeClock()
    model = CostModel(replace(STANDARD, max_requests=2), clock=clock)
    for _ in range(2):
        assert model.admit("u") == 1
        model.finish("u", Work("read"), 0.1, True)
    clock.now += 100
    refused = model.admit("u")
    assert isinstance(refused, Throttle) and refused.retry_after == pytest.approx(200)
    assert model.retry_after_header(refused.retry_after) == "200"  # integer seconds without compression
    clock.now += 200.5  # both admitted requests have left the window
    assert model.admit("u") == 1


def test_requests_above_the_dop_hint_are_slowed_not_served_free():
    model = CostModel(STANDARD)
    work = Work("bulk_create", created=100)
    alone = model.cost(work, True, in_flight=STANDARD.dop_hint)
    assert model.cost(work, True, in_flight=2 * STANDARD.dop_hint) == pytest.approx(2 * alone)


def test_floor_examples():
    ten_thousand = floor_seconds(Ledger(created=10_000), STANDARD)
    assert ten_thousand["floor"] == pytest.approx((10_000 * 0.01 + 5 * 0.1) / 5)
    million = floor_seconds(Ledger(created=1_000_000), STANDARD)  # the execution budget binds
    assert million["floor"] == million["execution_term"] > million["concurrency_term"]


def test_the_token_subject_is_the_user():
    assert user_of({}) == "anonymous"
    assert user_of({"authorization": f"Bearer {jwt('abc')}"}) == "sub:abc"
    opaque = user_of({"authorization": "Bearer not-a-jwt"})
    assert opaque.startswith("token:") and "not-a-jwt" not in opaque
