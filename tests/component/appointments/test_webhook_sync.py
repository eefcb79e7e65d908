"""Idempotence, ordering, races, round trips and outages, over real HTTP against the emulator."""

from __future__ import annotations

import asyncio
import itertools
import json
from typing import Any

import pytest

from integration.appointments.keys import appointment_row_id
from tests.support.handlers import Deliver
from tests.support.settings import VERSION_COLUMN
from tests.support.webhooks import event, signed_headers

ROW = appointment_row_id("booking", "apt_8412")


def appointment(dataverse: Any) -> dict[str, Any]:
    rows = dataverse.rows("appointments")
    assert len(rows) == 1, rows
    return rows[0]


def state(row: dict[str, Any]) -> tuple[int, int]:
    return row["statecode"], row["statuscode"]


async def test_redelivery_three_times_changes_nothing(deliver: Deliver, dataverse: Any) -> None:
    body = json.dumps(event()).encode()
    headers = signed_headers(body, msg_id="msg_same")
    first = await deliver(body, headers)
    before = appointment(dataverse)
    writes = dataverse.count(method="PATCH") + dataverse.count(method="POST")

    answers = [await deliver(body, signed_headers(body, msg_id="msg_same")) for _ in range(3)]

    assert first.body["result"] == "created"
    assert [a.body["result"] for a in answers] == ["unchanged"] * 3
    assert all(a.body["appointment"] == first.body["appointment"] for a in answers)
    assert appointment(dataverse) == before
    assert len(dataverse.rows("leads")) == 1
    assert dataverse.count(method="PATCH") + dataverse.count(method="POST") == writes + 3  # three read batches only


async def test_update_changes_the_same_row(deliver: Deliver, dataverse: Any) -> None:
    await deliver(event())
    answer = await deliver(
        event(type_="appointment.updated", updatedAt="2026-01-16T09:00:00Z", start="2026-01-21T10:00:00+01:00",
              end="2026-01-21T11:15:00+01:00", location=None, notes=None)
    )
    assert answer.body["result"] == "updated"
    row = appointment(dataverse)
    assert (row["scheduledstart"], row["scheduledend"], row["scheduleddurationminutes"]) == (
        "2026-01-21T09:00:00Z", "2026-01-21T10:15:00Z", 75,
    )
    assert row["location"] is None
    assert row["description"] == "Booking reference: apt_8412"


@pytest.mark.parametrize(
    "status,expected", [("cancelled", (2, 4)), ("canceled", (2, 4)), ("completed", (1, 3))]
)
async def test_closing_states(deliver: Deliver, dataverse: Any, status: str, expected: tuple[int, int]) -> None:
    await deliver(event())
    answer = await deliver(event(type_="appointment.cancelled", status=status, updatedAt="2026-01-16T00:00:00Z"))
    assert answer.body["result"] == "updated"
    assert state(appointment(dataverse)) == expected


async def test_cancel_before_create_leaves_one_cancelled_appointment(deliver: Deliver, dataverse: Any) -> None:
    cancel = await deliver(event(type_="appointment.cancelled", status="cancelled", updatedAt="2026-01-16T00:00:00Z"))

    assert cancel.body["result"] == "created"
    assert state(appointment(dataverse)) == (2, 4)
    # without a version column a create is still known to be the oldest event: it changes nothing
    late_create = await deliver(event())
    assert late_create.body["result"] == "stale"
    assert state(appointment(dataverse)) == (2, 4)
    again = await deliver(event())
    assert again.body["result"] == "stale" and len(dataverse.rows("appointments")) == 1


async def test_cancel_before_create_with_versions(deliver: Deliver, dataverse: Any, versioned: str) -> None:
    await deliver(event(type_="appointment.cancelled", status="cancelled", updatedAt="2026-01-16T00:00:00Z"))
    late_create = await deliver(event())

    assert late_create.body["result"] == "stale"
    assert late_create.body["appointment"] == ROW
    assert late_create.body["regarding"]["entity"] == "lead"
    row = appointment(dataverse)
    assert state(row) == (2, 4)
    assert row[VERSION_COLUMN] == "2026-01-16T00:00:00.000000Z"


async def test_stale_answer_names_the_stored_customer(deliver: Deliver, dataverse: Any, versioned: str) -> None:
    referenced = dataverse.insert("leads", {"lastname": "Ref", "emailaddress1": "ref@example.com", "subject": "Ribbon"})
    contact = dataverse.insert("contacts", {"lastname": "Diaz", "emailaddress1": "ana@example.com"})
    await deliver(event(updatedAt="2026-01-16T00:00:00Z", crmReference={"entity": "lead", "id": referenced}))

    stale = await deliver(event(updatedAt="2026-01-15T00:00:00Z"))

    assert stale.body == {"result": "stale", "appointment": ROW, "regarding": {"entity": "lead", "id": referenced}}
    assert contact not in json.dumps(dataverse.rows("appointments"))


async def test_closed_appointment_reopens_for_a_newer_event(deliver: Deliver, dataverse: Any, versioned: str) -> None:
    await deliver(event(status="completed", updatedAt="2026-01-16T00:00:00Z"))
    answer = await deliver(event(subject="Follow-up", updatedAt="2026-01-17T00:00:00Z"))
    assert answer.body["result"] == "updated"
    row = appointment(dataverse)
    assert (state(row)[0], row["subject"]) == (0, "Follow-up")

    edited_closed = await deliver(event(status="cancelled", subject="Cancelled follow-up", updatedAt="2026-01-18T00:00:00Z"))
    assert edited_closed.body["result"] == "updated"
    row = appointment(dataverse)
    assert (state(row), row["subject"]) == ((2, 4), "Cancelled follow-up")


SEQUENCE = [
    event(updatedAt="2026-01-15T14:00:00Z"),
    event(type_="appointment.updated", updatedAt="2026-01-15T15:00:00Z", subject="Moved", start="2026-01-22T15:00:00Z",
          end="2026-01-22T16:00:00Z"),
    event(type_="appointment.cancelled", status="canceled", updatedAt="2026-01-15T16:00:00Z", subject="Moved",
          start="2026-01-22T15:00:00Z", end="2026-01-22T16:00:00Z"),
]


@pytest.mark.parametrize("order", list(itertools.permutations(range(3))), ids=lambda o: "-".join(map(str, o)))
async def test_any_order_ends_in_the_newest_state(
    deliver: Deliver, dataverse: Any, versioned: str, order: tuple[int, ...]
) -> None:
    for index in order:
        answer = await deliver(SEQUENCE[index])
        assert answer.status == 200, answer.body

    row = appointment(dataverse)
    assert (row["subject"], row["scheduledstart"], state(row)) == ("Moved", "2026-01-22T15:00:00Z", (2, 4))
    assert row[VERSION_COLUMN] == "2026-01-15T16:00:00.000000Z"
    assert len(dataverse.rows("leads")) == 1


async def test_concurrent_first_deliveries_make_one_lead_and_one_appointment(
    deliver: Deliver, dataverse: Any, versioned: str
) -> None:
    bodies = [event(updatedAt=f"2026-01-15T14:0{i}:00Z", subject=f"Version {i}") for i in range(6)]

    answers = await asyncio.gather(*(deliver(body) for body in bodies))

    assert all(a.status == 200 for a in answers), [a.body for a in answers]
    assert {a.body["appointment"] for a in answers} == {ROW}
    assert len({json.dumps(a.body["regarding"]) for a in answers}) == 1
    assert len(dataverse.rows("leads")) == 1
    assert appointment(dataverse)["subject"] == "Version 5"
    assert sum(a.body["result"] == "created" for a in answers) == 1


async def test_concurrent_different_appointments_share_one_new_lead(deliver: Deliver, dataverse: Any) -> None:
    answers = await asyncio.gather(*(deliver(event(f"apt_{i}")) for i in range(5)))

    assert [a.status for a in answers] == [200] * 5
    assert len(dataverse.rows("leads")) == 1
    assert len(dataverse.rows("appointments")) == 5


async def test_steady_state_update_takes_at_most_three_requests(
    deliver: Deliver, dataverse: Any, versioned: str, staff_user: str
) -> None:
    contact = dataverse.insert("contacts", {"lastname": "Diaz", "emailaddress1": "ana@example.com"})
    await deliver(event(staff={"email": "advisor@bank.example"}))
    start = dataverse.count()

    answer = await deliver(event(subject="Changed", updatedAt="2026-01-16T00:00:00Z", staff={"email": "advisor@bank.example"}))

    assert answer.body["result"] == "updated"
    assert answer.body["regarding"] == {"entity": "contact", "id": contact}
    assert dataverse.count() - start <= 3
    unchanged_start = dataverse.count()
    assert (await deliver(event(subject="Changed", updatedAt="2026-01-16T00:00:00Z", staff={"email": "advisor@bank.example"}))).body["result"] == "unchanged"
    assert dataverse.count() - unchanged_start == 1


async def test_throttling_answers_503_then_a_redelivery_completes(deliver: Deliver, dataverse: Any) -> None:
    body = json.dumps(event()).encode()
    dataverse.faults.throttle(1, retry_after=120)

    throttled = await deliver(body)

    assert throttled.status == 503
    assert int(throttled.headers["Retry-After"]) >= 1
    assert throttled.body["status"] == 503
    assert dataverse.rows("appointments") == []
    again = await deliver(body)
    assert again.body["result"] == "created"
    assert len(dataverse.rows("appointments")) == 1


def fail(dataverse: Any, method: str, path: str, *, let_through: int = 0) -> None:
    """Fail ``method`` on ``path`` with 503 (after ``let_through`` matching requests pass).

    Retry-After is longer than the client's retry budget, so the client gives up at once.
    """
    if let_through:
        dataverse.faults.hang(let_through, seconds=0, method=method, path=path)
    dataverse.faults.fail(10, status=503, retry_after=30, method=method, path=path)


OUTAGES = {
    "read": dict(method="POST", path="$batch"),
    "lead create": dict(method="PATCH", path="leads"),
    "appointment write": dict(method="PATCH", path="appointments"),
}


@pytest.mark.parametrize("step", list(OUTAGES))
async def test_outage_at_each_step_of_a_first_delivery(deliver: Deliver, dataverse: Any, versioned: str, step: str) -> None:
    body = json.dumps(event()).encode()
    fail(dataverse, **OUTAGES[step])

    failed = await deliver(body)

    assert (failed.status, failed.headers.get("Retry-After")) == (503, "30"), failed.body
    assert dataverse.rows("appointments") == []
    dataverse.faults.clear()
    again = await deliver(body)
    assert again.body["result"] == "created", again.body
    assert len(dataverse.rows("leads")) == 1
    assert (await deliver(body)).body["result"] == "unchanged"


async def test_outage_during_a_multi_step_write_leaves_nothing_half_done(
    deliver: Deliver, dataverse: Any, versioned: str
) -> None:
    await deliver(event(status="completed", updatedAt="2026-01-14T00:00:00Z", subject="Old"))
    before = appointment(dataverse)
    body = json.dumps(event(status="cancelled", updatedAt="2026-01-16T00:00:00Z")).encode()
    fail(dataverse, "POST", "$batch", let_through=1)  # the read passes, the reopen-write-close changeset fails

    failed = await deliver(body)

    assert failed.status == 503
    assert appointment(dataverse) == before
    dataverse.faults.clear()
    assert (await deliver(body)).body["result"] == "updated"
    row = appointment(dataverse)
    assert (row["subject"], state(row), row[VERSION_COLUMN]) == (
        "Mortgage consultation", (2, 4), "2026-01-16T00:00:00.000000Z",
    )
