"""A timer-triggered function run on its NCRONTAB schedule, in UTC, one run at a time.

As the host's timer listener: ``run_on_startup`` runs it once when the host starts; after
each run the next occurrence is computed from the current time, so a run that overruns skips
the occurrences it covered instead of queueing them. ``past_due`` is true when a run starts
more than a second after its scheduled time. The devhost keeps no schedule status between
starts (the host's ``use_monitor`` blobs), so occurrences missed while it was stopped are not
caught up.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import Executor
from datetime import UTC, datetime, timedelta

from azure.functions.timer import TimerRequest

from devhost.functions import TimerFunction
from devhost.invocation import call_function, failure_frames
from devhost.ncrontab import CronSchedule

log = logging.getLogger("devhost.timers")

PAST_DUE_AFTER = timedelta(seconds=1)


def _utc_now() -> datetime:
    return datetime.now(UTC)


class TimerListener:
    def __init__(self, function: TimerFunction, schedule: CronSchedule, executor: Executor,
                 clock: Callable[[], datetime] = _utc_now) -> None:
        self.function = function
        self.schedule = schedule
        self._executor = executor
        self._clock = clock
        self._last: datetime | None = None

    async def run(self) -> None:
        """Fire on schedule until cancelled."""
        if self.function.run_on_startup:
            await self._fire(scheduled=self._clock(), following=self.schedule.next_after(self._clock()))
        after = self._clock()
        while True:
            due = self.schedule.next_after(after)
            if due is None:
                log.warning("function %s: schedule %r has no further occurrence", self.function.name,
                            self.schedule.text)
                return
            await asyncio.sleep(max(0.0, (due - self._clock()).total_seconds()))
            early = (due - self._clock()).total_seconds()  # the loop's clock and the wall clock may differ
            if early > 0:
                await asyncio.sleep(early + 0.001)
            await self._fire(scheduled=due, following=self.schedule.next_after(max(self._clock(), due)))
            after = max(self._clock(), due)

    async def _fire(self, scheduled: datetime, following: datetime | None) -> None:
        started = self._clock()
        status = {"Last": (self._last or datetime.min.replace(tzinfo=UTC)).isoformat(),
                  "Next": following.isoformat() if following else None, "LastUpdated": started.isoformat()}
        timer = TimerRequest(past_due=started - scheduled > PAST_DUE_AFTER, schedule_status=status,
                                  schedule={"AdjustForDST": False})
        self._last = started
        try:
            await call_function(self.function.handler, self.function.name, self.function.trigger_arg, timer,
                                self._executor)
        except Exception as exc:  # noqa: BLE001 - a failing run is logged; the schedule goes on
            log.error("function %s raised %s%s", self.function.name, type(exc).__name__, failure_frames(exc))
