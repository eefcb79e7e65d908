"""Outages, throttling and refused rows, produced by the emulator's scripted faults."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from integration.schedules.importer import import_schedule
from integration.schedules.payload import validate_import
from samples.schedules import generate
from tests.schedules.conftest import seed_users

SAMPLE = json.loads((Path(__file__).resolve().parents[2] / "samples/schedules/week-47.json").read_text())
BOOKINGS = "bookableresourcebookings"
CREATE_BOOKINGS = "bookableresourcebookings/Microsoft.Dynamics.CRM.CreateMultiple"


async def test_outage_while_writing_is_503_and_a_rerun_completes(post, dataverse, app_settings):
    document = generate.schedule(agents=20, segments_per_agent=50)
    seed_users(dataverse, [generate.email(i) for i in range(20)])
    dataverse.faults.fail(50, status=503, retry_after=0, path=CREATE_BOOKINGS)
    status, problem, response = await post(document)
    assert status == 503 and response.headers.get("Retry-After")
    assert problem["status"] == 503 and "Traceback" not in json.dumps(problem)
    assert len(dataverse.rows("bookableresources")) == 20  # reference data went in before the outage
    dataverse.faults.clear()

    status, body, _ = await post(document)
    assert status == 200, body
    assert body["created"] + body["unchanged"] == 1000
    assert body["referenceData"] == {"resources": 0, "activityTypes": 0, "statuses": 0, "plans": 0}
    assert len(dataverse.rows(BOOKINGS)) == 1000
    status, body, _ = await post(document)
    assert body["unchanged"] == 1000


async def test_outage_while_reading_writes_nothing(post, dataverse, app_settings):
    seed_users(dataverse, ["a.smith@contoso.com", "s.lee@contoso.com"])
    dataverse.faults.fail(20, status=503, retry_after=0, path="systemusers")
    status, _, response = await post(SAMPLE)
    assert status == 503 and response.headers.get("Retry-After")
    assert dataverse.rows(BOOKINGS) == [] and dataverse.rows("bookableresources") == []


async def test_throttling_is_ridden_out(post, dataverse, app_settings):
    seed_users(dataverse, ["a.smith@contoso.com", "s.lee@contoso.com"])
    dataverse.faults.throttle(2, retry_after=0, path=CREATE_BOOKINGS)
    status, body, _ = await post(SAMPLE)
    assert status == 200 and body["created"] == 4
    assert dataverse.count(path=CREATE_BOOKINGS) == 3


async def test_a_refused_segment_is_isolated_and_reported_and_the_rest_goes_in(dataverse, client):
    seed_users(dataverse, ["a.smith@contoso.com", "s.lee@contoso.com"])
    schedule = validate_import(SAMPLE)
    # The four bookings go in one chunk: [a0 a1 a2 s0] refused, then [a0 a1], then [a0] alone.
    dataverse.faults.fail(3, status=400, path=CREATE_BOOKINGS)
    summary = await import_schedule(client, schedule)
    assert summary.created == 3
    assert [s.model_dump() for s in summary.skipped] == [{
        "agentId": "iex-10234",
        "reason": summary.skipped[0].reason,
    }]
    assert summary.skipped[0].reason.startswith("segment $.agents[0].segments[0] was rejected: Dataverse HTTP 400")
    assert dataverse.count(path=CREATE_BOOKINGS) == 5  # 1 + 2 halves + 2 quarters
    assert len(dataverse.rows(BOOKINGS)) == 3

    summary = await import_schedule(client, schedule)
    assert (summary.created, summary.unchanged, summary.skipped) == (1, 3, [])


async def test_booking_that_exists_outside_what_was_read_is_updated_not_duplicated(dataverse, client):
    """A create refused as a duplicate key (the row sits on another resource) becomes an update."""
    users = seed_users(dataverse, ["a.smith@contoso.com", "s.lee@contoso.com"])
    schedule = validate_import(SAMPLE)
    await import_schedule(client, schedule)
    moved = dict(SAMPLE, agents=[dict(SAMPLE["agents"][1], email="a.smith@contoso.com")])
    # Sam's agentId now maps to Alex's user: the booking id is the same, the resource differs.
    del moved["window"]
    summary = await import_schedule(client, validate_import(moved))
    assert (summary.created, summary.updated) == (0, 1)
    row = next(r for r in dataverse.rows(BOOKINGS) if r["name"] == "Sam Lee - Chat")
    alex = next(r for r in dataverse.rows("bookableresources") if r["_userid_value"] == users["a.smith@contoso.com"])
    assert row["_resource_value"] == alex["bookableresourceid"]


class AnswersRewritten(httpx.AsyncHTTPTransport):
    """Real HTTP to the emulator; the bookings it answers get ``starttime`` replaced by ``value``.

    The emulator validates what it stores, so it cannot hold an unreadable date: this is the
    one edge the test produces itself, on a real answer.
    """

    def __init__(self, value: object) -> None:
        super().__init__()
        self.value = value

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await super().handle_async_request(request)
        if request.method != "GET" or not request.url.path.endswith(BOOKINGS):
            return response
        document = json.loads(await response.aread())
        for row in document.get("value", []):
            row["starttime"] = self.value
        headers = {k: v for k, v in response.headers.items() if k.lower() not in ("content-length", "content-encoding")}
        return httpx.Response(response.status_code, headers=headers, json=document)


@pytest.mark.parametrize("value", ["garbage", "9999-12-31T23:59:59-05:00", "0001-01-01T00:00:00+05:00", None, 12345,
                                   "2026-11-16T14:00:00"])
async def test_an_unreadable_date_in_dataverse_s_answer_is_a_bad_upstream_answer(dataverse, value):
    from dataverse import DataverseClient
    from integration.errors import UpstreamRejected

    seed_users(dataverse, ["a.smith@contoso.com", "s.lee@contoso.com"])
    async with DataverseClient(dataverse.url) as client:
        await import_schedule(client, validate_import(SAMPLE))
    async with DataverseClient(dataverse.url, transport=AnswersRewritten(value)) as client:
        with pytest.raises(UpstreamRejected, match="bookableresourcebooking"):
            await import_schedule(client, validate_import(SAMPLE))
