"""The schedule import against the emulator's cost model (time-compressed): parallelism and 429s.

Each test runs the real importer over HTTP against an emulator whose requests cost modelled
server time and whose service protection limits are lowered so they trip within one small
import. The assertions read the emulator's ledger (what the server saw: requests in flight,
429s by code) and its rows, never the importer's own state.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import pytest

from dataverse import DataverseClient
from emulators.dataverse import DataverseEmulator
from emulators.dataverse.hosting.cost_model import (
    CONCURRENCY_CODE,
    EXECUTION_CODE,
    REQUESTS_CODE,
    CostModel,
    CostProfile,
)
from integration.schedules.importer import import_schedule
from integration.schedules.payload import validate_import
from samples.schedules import generate

AGENTS, SEGMENTS = 50, 50  # 2,500 bookings: five first-wave chunks of 500
STANDARD = CostProfile()
WRITES = ("POST", "PATCH", "PUT", "DELETE")


@pytest.fixture(scope="module")
def costed():
    with DataverseEmulator() as emulator:
        yield emulator


@pytest.fixture
def emu(costed):
    costed.reset()
    for i in range(AGENTS):
        costed.insert("systemusers", {"internalemailaddress": generate.email(i), "fullname": "Test User"})
    return costed


def use(emu: DataverseEmulator, profile: CostProfile, compression: float = 10) -> CostModel:
    model = CostModel(profile, time_compression=compression)
    emu.costs.model = model
    return model


async def run_import(emu: DataverseEmulator, document: dict, max_concurrency: int = 52, **options) -> dict:
    async with DataverseClient(emu.url, max_concurrency=max_concurrency) as client:
        summary = await import_schedule(client, validate_import(document), **options)
    return summary.model_dump()


def assert_exact_state(emu: DataverseEmulator, document: dict) -> None:
    """Every committed segment is one booking on its agent's resource, and nothing else is there."""
    email_of_user = {u["systemuserid"]: u["internalemailaddress"] for u in emu.rows("systemusers")}
    user_of_resource = {r["bookableresourceid"]: r["_userid_value"] for r in emu.rows("bookableresources")}
    held = sorted(
        (email_of_user[user_of_resource[b["_resource_value"]]], _instant(b["starttime"]), _instant(b["endtime"]))
        for b in emu.rows("bookableresourcebookings")
    )
    wanted = sorted(
        (agent["email"], _instant(s["start"]), _instant(s["end"])) for agent in document["agents"] for s in agent["segments"]
    )
    assert held == wanted


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text)


def writes(emu: DataverseEmulator) -> int:
    return sum(emu.count(method=m) for m in WRITES)


async def test_the_import_reaches_the_dop_hint_never_above_it_and_ends_exact(emu):
    document = generate.schedule(AGENTS, SEGMENTS)
    model = use(emu, replace(STANDARD, dop_hint=4))
    summary = await run_import(emu, document)
    assert summary["created"] == AGENTS * SEGMENTS
    assert model.ledger.max_in_flight == 4
    assert sum(model.ledger.throttled.values()) == 0
    assert_exact_state(emu, document)

    before = writes(emu)
    summary = await run_import(emu, document)
    assert summary["unchanged"] == AGENTS * SEGMENTS and writes(emu) == before


async def test_the_import_never_goes_above_the_configured_concurrency(emu):
    document = generate.schedule(AGENTS, SEGMENTS)
    model = use(emu, replace(STANDARD, dop_hint=8))
    await run_import(emu, document, max_concurrency=2)
    assert model.ledger.max_in_flight == 2
    assert_exact_state(emu, document)


async def test_a_dop_hint_of_1_serialises_every_request(emu):
    document = generate.schedule(AGENTS, SEGMENTS)
    model = use(emu, replace(STANDARD, dop_hint=1))
    await run_import(emu, document)
    assert model.ledger.max_in_flight == 1
    assert_exact_state(emu, document)


async def test_concurrency_429s_are_retried_without_a_storm(emu):
    # The hint says 8 but the server admits only 2 at once: the first wave of chunks is refused
    # right away and retried until every row is written. (That the limit halves per burst of
    # 429s is LimitPolicy's, tested in tests/component/dataverse/test_concurrency_limit.py: here
    # the first wave's six refusals dominate either way.) Each refused request is retried after
    # a back-off, so refusals stay below one per admitted request; how many exactly depends on
    # how the answers interleave, which a busy machine changes (6 to 9 of 15 seen).
    document = generate.schedule(AGENTS, SEGMENTS)
    model = use(emu, replace(STANDARD, dop_hint=8, max_concurrent=2))
    await run_import(emu, document)
    refused = model.ledger.throttled[CONCURRENCY_CODE]
    assert 1 <= refused <= model.ledger.requests, (refused, model.ledger.requests)
    assert_exact_state(emu, document)


@pytest.mark.slow  # 5-7 s each: real Retry-After windows waited out (make test-slow, run by CI)
@pytest.mark.parametrize("code, limit, compression", [
    # ~10 reference-data requests go out within the first 2 s (the window at x5): the 9th is refused.
    (REQUESTS_CODE, {"max_requests": 8, "window_seconds": 10.0}, 5),
    # Two 500-row chunks (5.2 model s each) finish together: the next request is over 5 s.
    (EXECUTION_CODE, {"max_execution_seconds": 5.0, "window_seconds": 10.0, "dop_hint": 2}, 10),
])
async def test_window_429s_are_waited_out_and_the_import_completes(emu, code, limit, compression):
    document = generate.schedule(AGENTS, SEGMENTS)  # ~15 requests, ~30 model s of execution
    model = use(emu, replace(STANDARD, **limit), compression=compression)
    summary = await run_import(emu, document)
    assert summary["created"] == AGENTS * SEGMENTS
    refused = model.ledger.throttled[code]
    # Waiting Retry-After means a handful of 429s per window; retrying at once would mean hundreds.
    assert 1 <= refused <= 20, model.ledger
    assert_exact_state(emu, document)

