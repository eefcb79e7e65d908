"""Property: whatever the order, duplication and concurrency of deliveries, Dataverse ends in
the state of each appointment's newest event (with the version column set)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from integration.appointments.keys import appointment_row_id
from tests.support.handlers import call_handler, webhook_request
from tests.support.settings import VERSION_COLUMN
from tests.support.webhooks import event

BASE = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
EXPECTED_STATE = {"scheduled": 0, "cancelled": 2, "canceled": 2, "completed": 1}


@st.composite
def histories(draw: st.DrawFn) -> tuple[list[dict[str, Any]], list[list[int]]]:
    """Events for one or two appointments (distinct updatedAt each), then a delivery plan:
    a shuffled list with duplicates, cut into groups delivered concurrently."""
    events = []
    for appointment in draw(st.lists(st.sampled_from(["apt_a", "apt_b"]), min_size=1, max_size=2, unique=True)):
        versions = draw(st.lists(st.integers(0, 500), min_size=1, max_size=4, unique=True))
        for version in versions:
            start = BASE + timedelta(hours=draw(st.integers(0, 48)))
            events.append(
                event(
                    appointment,
                    type_=draw(st.sampled_from(["appointment.created", "appointment.updated", "appointment.cancelled"])),
                    status=draw(st.sampled_from(list(EXPECTED_STATE))),
                    updatedAt=(BASE + timedelta(seconds=version)).isoformat().replace("+00:00", "Z"),
                    start=start.isoformat(),
                    end=(start + timedelta(minutes=draw(st.sampled_from([15, 30, 90])))).isoformat(),
                    subject=draw(st.sampled_from(["Mortgage", "Savings", "Pension review"])),
                    location=draw(st.sampled_from([None, "Downtown", "Online"])),
                )
            )
    indices = list(range(len(events)))
    deliveries = draw(st.permutations(indices + draw(st.lists(st.sampled_from(indices), max_size=4))))
    sizes = draw(st.lists(st.integers(1, 3), min_size=len(deliveries), max_size=len(deliveries)))
    groups, position = [], 0
    for size in sizes:
        if position >= len(deliveries):
            break
        groups.append(list(deliveries[position : position + size]))
        position += size
    return events, groups


@pytest.fixture
def runner() -> Iterator[asyncio.Runner]:
    with asyncio.Runner() as loop_runner:
        yield loop_runner


@pytest.mark.slow
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(history=histories())
def test_dataverse_ends_in_the_newest_state(
    history: tuple[list[dict[str, Any]], list[list[int]]],
    dataverse_server: Any,
    versioned: str,
    webhook_handler: Any,
    runner: asyncio.Runner,
) -> None:
    events, groups = history
    dataverse_server.reset()

    async def deliver_all() -> None:
        for group in groups:
            answers = await asyncio.gather(*(call_handler(webhook_handler, webhook_request(events[i])) for i in group))
            assert all(a.status == 200 for a in answers), [a.body for a in answers]

    runner.run(deliver_all())

    newest: dict[str, dict[str, Any]] = {}
    for item in events:
        data = item["data"]
        if data["appointmentId"] not in newest or data["updatedAt"] > newest[data["appointmentId"]]["updatedAt"]:
            newest[data["appointmentId"]] = data
    rows = {row["activityid"]: row for row in dataverse_server.rows("appointments")}
    assert len(rows) == len(newest)
    for appointment_id, data in newest.items():
        row = rows[appointment_row_id("booking", appointment_id)]
        start = datetime.fromisoformat(data["start"]).astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        assert (row["subject"], row["scheduledstart"], row.get("location"), row["statecode"]) == (
            data["subject"], start, data.get("location"), EXPECTED_STATE[data["status"]],
        )
        assert row[VERSION_COLUMN] == data["updatedAt"].replace("Z", ".000000Z")
    assert len(dataverse_server.rows("leads")) == 1
