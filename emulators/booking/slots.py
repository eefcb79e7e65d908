"""Bookable slots: fixed times on the next working days, in the sandbox's time zone."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta, timezone, tzinfo

from .timefmt import now


@dataclass(frozen=True)
class SlotPlan:
    zone: tzinfo = timezone.utc
    days: int = 3
    times: tuple[time, ...] = field(default=(time(9, 0), time(10, 30), time(14, 0), time(15, 30)))
    length: timedelta = timedelta(minutes=30)

    def offered(self) -> list[datetime]:
        """Slot starts on the next ``days`` weekdays after today."""
        day = now().astimezone(self.zone).date()
        starts: list[datetime] = []
        while len(starts) < self.days * len(self.times):
            day += timedelta(days=1)
            if day.weekday() < 5:
                starts.extend(datetime.combine(day, t, self.zone) for t in self.times)
        return starts
