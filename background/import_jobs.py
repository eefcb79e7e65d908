"""Queue-triggered functions of schedule-import jobs (docs/spec.md#24-post-apischedulesimport, docs/storage.md).

``run_import_job_step`` runs one step per message of ``schedule-import-jobs``; an outage makes it
raise, so the host delivers the message again and, after ``maxDequeueCount`` (host.json)
attempts, moves it to ``schedule-import-jobs-poison``, where ``fail_poisoned_import_job`` marks
the job failed with a problem document saying a re-run completes it. ``purge_import_jobs`` deletes
jobs past their retention once a day (Table storage has no time-to-live). Only ``azure.functions``
and the names module load at indexing time; the flow loads with the first message.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import azure.functions as func

from integration.schedules.job_storage import CONNECTION, POISON_QUEUE, QUEUE

log = logging.getLogger("integration.housekeeping")
PURGE_SCHEDULE = "0 47 3 * * *"
"""Daily at 03:47 UTC (NCRONTAB with seconds): jobs are kept for days, so once a day is enough."""

if TYPE_CHECKING:
    from entry.composition_root import CompositionRoot


def blueprint(root: CompositionRoot) -> func.Blueprint:
    bp = func.Blueprint()

    @bp.function_name(name="run_import_job_step")
    @bp.queue_trigger(arg_name="message", queue_name=QUEUE, connection=CONNECTION)
    async def run_import_job_step(message: func.QueueMessage) -> None:
        from entry.observability import invocation_scope
        from integration.schedules.jobs import run_step

        with invocation_scope("run_import_job_step") as invocation:
            await run_step(root.dependencies(), message.get_body(), message.dequeue_count or 1)
            invocation.status = 200  # handled (the message is deleted)

    @bp.function_name(name="fail_poisoned_import_job")
    @bp.queue_trigger(arg_name="message", queue_name=POISON_QUEUE, connection=CONNECTION)
    async def fail_poisoned_import_job(message: func.QueueMessage) -> None:
        from entry.observability import invocation_scope
        from integration.schedules.jobs import fail_poisoned

        with invocation_scope("fail_poisoned_import_job") as invocation:
            await fail_poisoned(root.dependencies(), message.get_body())
            invocation.status = 200  # handled (the message is deleted)

    @bp.function_name(name="purge_import_jobs")
    @bp.timer_trigger(schedule=PURGE_SCHEDULE, arg_name="timer", run_on_startup=False)
    async def purge_import_jobs(timer: func.TimerRequest) -> None:
        from datetime import datetime, timezone

        from entry.observability import invocation_scope
        from integration.schedules.jobs import purge_old_jobs

        with invocation_scope("purge_import_jobs") as invocation:
            storage = root.storage(root.settings())
            if storage is not None:
                removed = await purge_old_jobs(storage, datetime.now(timezone.utc))
                log.info("housekeeping: %d import jobs older than their retention deleted", removed)
            invocation.status = 200  # handled

    return bp
