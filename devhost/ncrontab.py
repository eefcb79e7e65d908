"""NCRONTAB schedules as the Functions timer trigger reads them: six fields, evaluated in UTC.

``{second} {minute} {hour} {day} {month} {day-of-week}``. Each field takes ``*``, a value,
a range ``a-b``, a list ``a,b,c`` and a step ``*/n`` or ``a-b/n``; months and days of the
week may be written as English names or their three-letter abbreviations (``Jan``,
``Mon``); day-of-week 0 is Sunday. As in the NCrontab library the host uses, a time matches
only when *both* the day of month and the day of week match (classic cron ORs them).
Pure: no clock is read here.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

MONTH_NAMES = {name.lower(): number for number, name in enumerate(calendar.month_name) if name}
MONTH_NAMES |= {name.lower(): number for number, name in enumerate(calendar.month_abbr) if name}
# calendar.day_name starts on Monday; cron numbers Sunday as 0.
DAY_NAMES = {name.lower(): (number + 1) % 7 for number, name in enumerate(calendar.day_name)}
DAY_NAMES |= {name.lower(): (number + 1) % 7 for number, name in enumerate(calendar.day_abbr)}

# (name, lowest, highest, names)
FIELDS = (
    ("second", 0, 59, {}),
    ("minute", 0, 59, {}),
    ("hour", 0, 23, {}),
    ("day", 1, 31, {}),
    ("month", 1, 12, MONTH_NAMES),
    ("day-of-week", 0, 6, DAY_NAMES),
)
SEARCH_YEARS = 28  # the calendar repeats weekdays every 28 years: no match in that span means none ever


class ScheduleError(ValueError):
    """The schedule text is not a six-field NCRONTAB expression the host accepts."""


def _value(text: str, field: str, lowest: int, highest: int, names: dict[str, int]) -> int:
    if text.lower() in names:
        return names[text.lower()]
    if not text.isdigit():
        raise ScheduleError(f"{field}: {text!r} is not a number" + (" or a name" if names else ""))
    number = int(text)
    if not lowest <= number <= highest:
        raise ScheduleError(f"{field}: {number} is outside {lowest}-{highest}")
    return number


def _field(text: str, field: str, lowest: int, highest: int, names: dict[str, int]) -> frozenset[int]:
    values: set[int] = set()
    for part in text.split(","):
        base, _, step_text = part.partition("/")
        step = 1
        if step_text:
            if not step_text.isdigit() or not 0 < int(step_text) <= highest - lowest + 1:
                raise ScheduleError(f"{field}: step {step_text!r} is not a number in 1-{highest - lowest + 1}")
            step = int(step_text)
        if base == "*":
            start, end = lowest, highest
        elif "-" in base:
            first, _, last = base.partition("-")
            start = _value(first, field, lowest, highest, names)
            end = _value(last, field, lowest, highest, names)
            if start > end:
                raise ScheduleError(f"{field}: range {base!r} runs backwards")
        else:
            start = _value(base, field, lowest, highest, names)
            end = highest if step_text else start  # "5/15" = from 5 on, every 15
        values.update(range(start, end + 1, step))
    return frozenset(values)


@dataclass(frozen=True)
class CronSchedule:
    text: str
    seconds: frozenset[int]
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 = Sunday

    @classmethod
    def parse(cls, text: str) -> CronSchedule:
        parts = text.split()
        if len(parts) != len(FIELDS):
            raise ScheduleError(f"{text!r}: expected 6 fields (second minute hour day month day-of-week), "
                                f"got {len(parts)}")
        sets = [_field(part, *spec) for part, spec in zip(parts, FIELDS, strict=True)]
        return cls(text, *sets)

    def _day_matches(self, day: datetime) -> bool:
        return (day.month in self.months and day.day in self.days
                and (day.weekday() + 1) % 7 in self.weekdays)

    def next_after(self, moment: datetime) -> datetime | None:
        """The first matching time strictly after ``moment`` (UTC), or None if none ever comes."""
        moment = moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
        start = moment.replace(microsecond=0) + timedelta(seconds=1)
        day = start.replace(hour=0, minute=0, second=0)
        for _ in range(SEARCH_YEARS * 366):
            if self._day_matches(day):
                same_day = day.date() == start.date()
                for hour in sorted(h for h in self.hours if not same_day or h >= start.hour):
                    for minute in sorted(self.minutes):
                        for second in sorted(self.seconds):
                            candidate = day.replace(hour=hour, minute=minute, second=second)
                            if candidate >= start:
                                return candidate
            day += timedelta(days=1)
        return None
