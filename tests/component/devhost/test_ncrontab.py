"""NCRONTAB schedules: six fields, UTC, the next occurrence strictly after a moment."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from devhost.ncrontab import CronSchedule, ScheduleError


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize("schedule, after, expected", [
    ("* * * * * *", "2026-12-01T10:00:00.500", "2026-12-01T10:00:01"),
    ("* * * * * *", "2026-12-01T10:00:00", "2026-12-01T10:00:01"),
    ("*/15 * * * * *", "2026-12-01T10:00:14", "2026-12-01T10:00:15"),
    ("*/15 * * * * *", "2026-12-01T10:00:45", "2026-12-01T10:01:00"),
    ("0 */5 * * * *", "2026-12-01T10:03:00", "2026-12-01T10:05:00"),
    ("0 30 9 * * *", "2026-12-01T09:30:00", "2026-12-02T09:30:00"),
    ("0 30 9 * * *", "2026-12-01T23:59:59", "2026-12-02T09:30:00"),
    ("0 0 9-17 * * *", "2026-12-01T17:00:00", "2026-12-02T09:00:00"),
    ("5,8,10 0 0 * * *", "2026-12-01T00:00:05", "2026-12-01T00:00:08"),
    ("0 0 8-18/4 * * *", "2026-12-01T08:00:00", "2026-12-01T12:00:00"),
    ("10/20 * * * * *", "2026-12-01T10:00:31", "2026-12-01T10:00:50"),
    ("0 0 0 * * 1-5", "2026-12-04T12:00:00", "2026-12-07T00:00:00"),  # Friday -> Monday
    ("0 0 0 * * Sun", "2026-12-01T00:00:00", "2026-12-06T00:00:00"),
    ("0 0 0 1 Jan *", "2026-12-01T00:00:00", "2027-01-01T00:00:00"),
    ("0 0 0 29 2 *", "2026-03-01T00:00:00", "2028-02-29T00:00:00"),
    # NCrontab ANDs day of month and day of week: the next 13th that is a Friday.
    ("0 0 0 13 * 5", "2026-12-01T00:00:00", "2027-08-13T00:00:00"),
])
def test_next_occurrence(schedule: str, after: str, expected: str) -> None:
    assert CronSchedule.parse(schedule).next_after(at(after)) == at(expected)


def test_other_time_zones_are_read_as_the_same_instant_in_utc() -> None:
    moment = datetime.fromisoformat("2026-12-01T11:59:00+02:00")
    assert CronSchedule.parse("0 0 10 * * *").next_after(moment) == at("2026-12-01T10:00:00")


def test_a_schedule_that_never_matches_has_no_next_occurrence() -> None:
    assert CronSchedule.parse("0 0 0 31 2 *").next_after(at("2026-12-01T00:00:00")) is None


@pytest.mark.parametrize("schedule, complaint", [
    ("* * * * *", "expected 6 fields"),
    ("00:05:00", "expected 6 fields"),
    ("60 * * * * *", "second: 60 is outside 0-59"),
    ("* * 24 * * *", "hour: 24 is outside 0-23"),
    ("* * * 0 * *", "day: 0 is outside 1-31"),
    ("* * * * 13 *", "month: 13 is outside 1-12"),
    ("* * * * * 7", "day-of-week: 7 is outside 0-6"),
    ("*/0 * * * * *", "step"),
    ("5-1 * * * * *", "runs backwards"),
    ("x * * * * *", "not a number"),
])
def test_malformed_schedules_are_refused(schedule: str, complaint: str) -> None:
    with pytest.raises(ScheduleError, match=complaint):
        CronSchedule.parse(schedule)
