"""The client's concurrency limit holds requests back, and x-ms-dop-hint lowers it (docs/dataverse-webapi.md#7-service-protection).

A mock transport parks every request on an event and counts how many are inside it at once,
so the limit is observed from the wire side, not read back from the limit object.
"""

from __future__ import annotations

import asyncio

import httpx

from dataverse import DataverseClient

URL = "https://contoso.crm.dynamics.com"
ID = "6f9619ff-8b86-d011-b42d-00c04fc964ff"
SETTLE = 200
"""Event-loop turns given to held-back calls to (wrongly) get through; no clock involved."""


class ParkingHandler:
    """Holds each request until ``release`` is set; records the most in flight at once."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.in_flight = 0
        self.most = 0
        self.hint: str | None = None

    def reset_watermark(self) -> None:
        self.release = asyncio.Event()
        self.most = self.in_flight

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.in_flight += 1
        self.most = max(self.most, self.in_flight)
        try:
            await self.release.wait()
        finally:
            self.in_flight -= 1
        headers = {"x-ms-dop-hint": self.hint} if self.hint else {}
        if request.url.path.endswith(")"):
            return httpx.Response(200, json={"leadid": ID}, headers=headers)
        return httpx.Response(200, json={"value": []}, headers=headers)


async def settle(handler: ParkingHandler, reached: int) -> None:
    """Wait (bounded, in loop turns) until ``reached`` are in flight, then give the rest a chance too."""
    for _ in range(10_000):
        if handler.in_flight >= reached:
            break
        await asyncio.sleep(0)
    for _ in range(SETTLE):
        await asyncio.sleep(0)


def calls(client: DataverseClient, count: int) -> list[asyncio.Task]:
    return [
        asyncio.ensure_future(client.query_all("leads") if n % 2 else client.retrieve("leads", ID))
        for n in range(count)
    ]


async def test_before_any_dop_hint_five_requests_go_out_at_once():
    handler = ParkingHandler()
    async with DataverseClient(URL, max_concurrency=52, transport=httpx.MockTransport(handler)) as client:
        tasks = calls(client, 20)
        await settle(handler, 5)
        assert handler.most == 5, f"{handler.most} requests were in flight before the service said how many"
        handler.release.set()
        await asyncio.wait_for(asyncio.gather(*tasks), timeout=10)


async def test_at_most_max_concurrency_requests_are_in_flight_and_the_dop_hint_lowers_it():
    handler = ParkingHandler()
    async with DataverseClient(URL, max_concurrency=52, transport=httpx.MockTransport(handler)) as client:
        handler.hint = "52"  # the first answer says the environment takes 52 at once
        handler.release.set()
        await asyncio.wait_for(client.retrieve("leads", ID), timeout=10)
        handler.reset_watermark()
        tasks = calls(client, 60)
        await settle(handler, 52)
        assert handler.most == 52, f"{handler.most} requests were in flight at once"
        assert handler.in_flight == 52 and sum(not t.done() for t in tasks) == 60
        handler.release.set()
        await asyncio.wait_for(asyncio.gather(*tasks), timeout=10)
        assert handler.most == 52

        handler.hint = "4"
        await asyncio.wait_for(client.retrieve("leads", ID), timeout=10)  # parks nothing: release is set
        handler.hint = None

        handler.reset_watermark()
        tasks = calls(client, 20)
        await settle(handler, 4)
        assert handler.most == 4, f"{handler.most} requests were in flight at once after x-ms-dop-hint: 4"
        handler.release.set()
        await asyncio.wait_for(asyncio.gather(*tasks), timeout=10)
        assert handler.most == 4


def test_a_429_burst_halves_the_limit_once_then_it_ramps_back_one_per_round_of_successes():
    from dataverse.concurrency import LimitPolicy

    policy = LimitPolicy(52)
    policy.hint("8")
    assert policy.limit == 8
    for _ in range(3):  # three requests of the same burst come back 429
        policy.answered(429)
    assert (policy.limit, policy.backoffs) == (4, 1)
    policy.hint("8")  # the hint on every answer does not undo the back-off
    assert policy.limit == 4
    steps = []
    for _ in range(4 + 5 + 6 + 7 + 8):
        policy.answered(200)
        steps.append(policy.limit)
    assert steps[3] == 5 and steps[8] == 6 and steps[-1] == 8  # +1 after each round of `limit` successes
    policy.answered(200)
    assert policy.limit == 8  # never above the hint
    policy.answered(429)
    policy.answered(200)
    policy.answered(429)  # a new burst after a success halves again
    assert (policy.limit, policy.backoffs) == (2, 3)
    policy.answered(429)
    policy.answered(200)
    policy.answered(429)
    assert policy.limit == 1  # never below one


def test_the_limit_never_exceeds_its_ceiling_or_52_and_a_lower_hint_applies_at_once():
    from dataverse.concurrency import LimitPolicy

    unbounded = LimitPolicy(80)
    assert unbounded.limit == 5  # before any hint
    unbounded.hint("60")
    assert unbounded.limit == 52
    policy = LimitPolicy(6)
    policy.hint("48")
    assert policy.limit == 6
    policy.hint("1")
    assert policy.limit == 1
    for bad in ("0", "-3", "many", ""):
        policy.hint(bad)
        assert policy.limit == 1
