"""The devhost's non-HTTP triggers: a listener per queue-triggered function and per timer.

They start with the server (the ASGI lifespan startup) and stop with it: polling ends, running
messages get up to ``drain_seconds`` to finish, and those still running are made visible again. A function whose connection
or schedule cannot be used is logged as in error and not run; the others run, as in the host.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from concurrent.futures import Executor
from pathlib import Path

from devhost.functions import AppFunctions, AppLoadError, QueueFunction, TimerFunction, read_host_json
from devhost.invocation import failure_frames
from devhost.ncrontab import CronSchedule, ScheduleError
from devhost.queue_listener import DRAIN_SECONDS, QueueListener
from devhost.queue_options import ListenerVisibility, QueueOptionsError, QueuesOptions
from devhost.storage_connection import ConnectionSettingError, queue_connection
from devhost.timer_listener import TimerListener

log = logging.getLogger("devhost")


class BackgroundTriggers:
    def __init__(self, queue_functions: Sequence[QueueFunction], timer_functions: Sequence[TimerFunction],
                 options: QueuesOptions, visibility: ListenerVisibility,
                 drain_seconds: float = DRAIN_SECONDS) -> None:
        self.queue_functions = list(queue_functions)
        self.drain_seconds = drain_seconds
        self._listeners: list[QueueListener] = []
        self.timer_functions = list(timer_functions)
        self.options = options
        self.visibility = visibility
        self._tasks: list[asyncio.Task[None]] = []

    @classmethod
    def for_app(cls, app_dir: Path, functions: AppFunctions, visibility: ListenerVisibility | None = None,
                drain_seconds: float = DRAIN_SECONDS) -> BackgroundTriggers:
        """host.json's ``extensions.queues`` and ``DEVHOST_QUEUE_VISIBILITY_SECONDS`` (read now)."""
        try:
            options = QueuesOptions.from_host_json(read_host_json(app_dir))
            visibility = visibility or ListenerVisibility.from_environment()
        except QueueOptionsError as exc:
            raise AppLoadError(f"{app_dir / 'host.json'}: {exc}") from None
        return cls(functions.queue, functions.timer, options, visibility, drain_seconds)

    async def start(self, executor: Executor) -> None:
        for function in self.queue_functions:
            try:
                connection = queue_connection(function.connection)
                listener = QueueListener(function, self.options, connection, executor, self.visibility,
                                         self.drain_seconds)
            except ConnectionSettingError as exc:
                log.error("function %s is in error and does not run: %s", function.name, exc)
                continue
            except ValueError as exc:  # the SDK's own check of the connection string (its text holds no value)
                log.error("function %s is in error and does not run: connection %s: %s", function.name,
                          function.connection or "AzureWebJobsStorage", exc)
                continue
            log.info("  %s: queue %s (batchSize %d, newBatchThreshold %d, maxDequeueCount %d, %s, hide %d s; %s: %s)",
                     function.name, function.queue_name, self.options.batch_size, self.options.new_batch_threshold,
                     self.options.max_dequeue_count, self.options.message_encoding, self.visibility.hide_seconds,
                     connection.setting, connection.describe())
            self._listeners.append(listener)
            self._track(asyncio.create_task(listener.run(), name=f"queue:{function.name}"))
        for timer in self.timer_functions:
            try:
                schedule = CronSchedule.parse(timer.schedule)
            except ScheduleError as exc:
                log.error("function %s is in error and does not run: schedule %s", timer.name, exc)
                continue
            log.info("  %s: timer %r (UTC)%s", timer.name, timer.schedule,
                     ", runs on startup" if timer.run_on_startup else "")
            self._track(asyncio.create_task(TimerListener(timer, schedule, executor).run(), name=f"timer:{timer.name}"))

    def _track(self, task: asyncio.Task[None]) -> None:
        self._tasks.append(task)
        task.add_done_callback(_report_end)

    async def stop(self) -> None:
        tasks, self._tasks = self._tasks, []
        listeners, self._listeners = self._listeners, []
        for listener in listeners:
            listener.stop()  # polling ends; each listener drains its running messages
        for task in tasks:
            if task.get_name().startswith("timer:"):
                task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)  # failures were reported as they happened


def _report_end(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        exc = task.exception()
        log.error("%s stopped: %s%s", task.get_name(), type(exc).__name__, failure_frames(exc))
