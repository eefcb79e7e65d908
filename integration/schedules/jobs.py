"""Schedule-import jobs (docs/spec.md#24-post-apischedulesimport, #26-get-apischedulesimportjobsjobid; docs/storage.md).

What a job keeps in the storage account:

- blob ``import-payloads/{jobId}.json``: the request body as received (validated before it is stored);
- blob ``import-payloads/{jobId}/chunk-NNNN.json`` per booking step, written by step 0: that step's
  agents with their segments and the job's source, plan and window, so a booking step reads and
  parses only its own part of the payload;
- row ``importjobs`` (PartitionKey = jobId, RowKey = ``job``): status, times, progress and the
  checkpoint (``nextStep``, ``enqueuedStep``), always updated with its ETag;
- blob ``import-payloads/{jobId}/step-NNNN.json`` per finished step: its answer, the agents' lease
  names and when its writes ran; ``import-payloads/{jobId}/result.json``: the merged answer;
- messages ``{"jobId", "step", "waits"}`` on queue ``schedule-import-jobs`` (never the payload);
- one empty blob per agent in ``import-locks`` (named by a hash of the agent's email), leased
  while a step writes that agent's bookings.

**Submit** writes the blob, then the row (``queued``), then the first message, and answers 202
only once all three are written. A crash or an outage between them gives the caller an error
(503) instead of a job id, so no job the caller knows of is ever left without a message; what
was written is left for the purge of old jobs (:func:`purge`).

**A step** (:func:`run_step`) reads the row, skips a step already done, runs the next one (step 0
reads the whole payload, writes every chunk blob, then resolves the reference data; a booking step
reads its chunk blob),
writes the step's answer, then the checkpoint (ETag-guarded), then the next step's message,
then notes that message in the row. A redelivered message for a finished step re-sends the
next step's message when the row shows it was never noted (a crash between checkpoint and
send), so a job never stalls. Two deliveries of one step are serialised by the agents' leases;
the one that comes second finds the step done and stops. Reference data has no lease: it is
matched by name and created only when missing, with deterministic ids, so two runs at once
create every row once.

**Redone work.** A booking chunk interrupted by a crash runs again from its start: it re-reads
the chunk's bookings and writes only what differs, so rows the interrupted attempt had already
written count as ``unchanged`` in the final answer (not ``created``).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from dataverse import errors as dv
from integration.dependencies import Dependencies
from integration.errors import Busy, IntegrationError, InvalidInput, RecordNotFound, UpstreamUnavailable
from integration.schedules.importer import (
    ImportSummary,
    ReferenceCounts,
    import_from_body,
    import_schedule,
    import_slot,
)
from integration.schedules.job_plan import (
    JOB_ID,
    InvalidTransition,
    JobRecord,
    Step,
    StepMessage,
    chunk_blob,
    chunk_step,
    lease_wait_seconds,
    merge_summaries,
    new_job,
    plan_for,
    read_chunk,
    schedule_part,
)
from integration.schedules.job_storage import LOCKS, PAYLOADS, POISON_QUEUE, QUEUE, TABLE
from integration.schedules.payload import ScheduleImport, parse_import
from integration.schedules.reference_data import resolve
from storage_client.errors import ChangedSinceRead, LeaseLost, LeaseTaken, StorageError, StorageUnavailable

if TYPE_CHECKING:
    from storage_client.account import Lease, StorageAccount

log = logging.getLogger("integration.schedules.jobs")

LEASE_SECONDS = 15
"""Each agent's lease: the shortest storage allows, renewed every 5 s while the step runs, so a crashed
worker's leases lapse within 15 s and the step's next delivery is not held up for long."""
MAX_RETRY_AFTER = 60
MIN_RETRY_AFTER = 2
SEGMENTS_PER_SECOND_GUESS = 100
"""For ``Retry-After`` only: about what Dataverse's standard cost lets an import write."""
BUSY_WAIT_SECONDS = 15
"""A step that finds this process's import slots taken comes back after this long (not a failure)."""
CHECKPOINT_ATTEMPTS = 5
"""Re-reads of the row when its ETag changed under a checkpoint: a note of a sent message is the
only other writer while a step runs, so a handful is plenty."""

JOBS_OFF = "Import jobs are off: the app has no storage account (AzureWebJobsStorage is not set)."


class JobNotFound(RecordNotFound):
    title = "Import job not found"


@dataclass(frozen=True)
class Submitted:
    job_id: str
    retry_after: int

    @property
    def status_path(self) -> str:
        return f"/api/schedules/import/jobs/{self.job_id}"

    def document(self) -> dict[str, str]:
        return {"jobId": self.job_id, "status": "queued", "statusUrl": self.status_path}


def jobs_on(dependencies: Dependencies) -> bool:
    return dependencies.storage is not None


def _storage(dependencies: Dependencies) -> StorageAccount:
    storage = dependencies.storage
    if storage is None:
        raise JobNotFound(JOBS_OFF)
    return storage


def _now() -> datetime:
    return datetime.now(timezone.utc)


def retry_after_for(segments: int) -> int:
    """Seconds a caller should wait before asking for the job's status: bounded to ``[2, 60]``."""
    return max(MIN_RETRY_AFTER, min(MAX_RETRY_AFTER, segments // SEGMENTS_PER_SECOND_GUESS))


# ---------------------------------------------------------------- submit and status


async def submit(dependencies: Dependencies, body: bytes, schedule: ScheduleImport | None = None) -> Submitted:
    """Validate ``body`` (400/413 as the synchronous import) and queue it as a job; see the module's notes."""
    storage = _storage(dependencies)
    if schedule is None:
        with import_slot():  # parsing peaks at several times the body's size: the same bound as a synchronous import
            schedule = await asyncio.to_thread(parse_import, body)
    job_id = uuid.uuid4().hex
    record, _ = new_job(job_id, schedule, _now())
    payloads = storage.container(PAYLOADS)
    await payloads.ensure()
    await payloads.put(f"{job_id}.json", body, overwrite=False)
    table = storage.table(TABLE)
    await table.ensure()
    await table.insert(record.entity())
    queue = storage.queue(QUEUE)
    await queue.ensure()
    await queue.send(StepMessage(job_id, 0).text())
    log.info("import job %s queued: %d segments in %d steps", job_id, record.segments, record.steps)
    return Submitted(job_id, retry_after_for(record.segments))


async def status(dependencies: Dependencies, job_id: str) -> dict[str, Any]:
    """The status document; :class:`JobNotFound` (404) for an id that is not a job's."""
    storage = _storage(dependencies)
    if not JOB_ID.fullmatch(job_id):
        raise JobNotFound("There is no import job with this id.")
    table = storage.table(TABLE)
    await table.ensure()
    entity = await table.get(job_id, "job")
    if entity is None:
        raise JobNotFound("There is no import job with this id.")
    record = JobRecord.from_entity(entity)
    result = None
    if record.status == "succeeded":
        raw = await storage.container(PAYLOADS).get(f"{job_id}/result.json")
        result = ImportSummary.model_validate_json(raw) if raw else None
    return record.document(result)


async def import_or_hand_over(dependencies: Dependencies, body: bytes) -> ImportSummary | Submitted:
    """The synchronous import; with storage, one that reaches ``schedule_import_sync_seconds`` stops
    and goes on as a job (a re-run compares before it writes, so the job redoes reads, not writes)."""
    if not jobs_on(dependencies):
        return await import_from_body(dependencies, body)
    with import_slot():
        schedule = await asyncio.to_thread(parse_import, body)
        try:
            async with asyncio.timeout(dependencies.settings.schedule_import_sync_seconds) as limit:
                return await import_schedule(dependencies.dataverse, schedule)
        except TimeoutError:
            if not limit.expired():
                raise
        log.info("schedule import reached its synchronous deadline: going on as a job")
        return await submit(dependencies, body, schedule)


# ---------------------------------------------------------------- running steps


class _Permanent(Exception):
    """The job cannot go on: mark it failed now, without retries."""

    def __init__(self, problem: dict[str, Any]):
        super().__init__(problem.get("detail", ""))
        self.problem = problem


def _problem(status: int, title: str, detail: str, rerun: bool) -> dict[str, Any]:
    return {"type": "about:blank", "title": title, "status": status, "detail": detail, "rerunCompletes": rerun}


OUTAGE = "outage"
OUTAGE_PROBLEM = _problem(
    503, "Import job failed",
    "A step failed on every attempt because Dataverse or the storage account was unavailable. "
    "Submitting the same import again completes it: the import compares before it writes.", True,
)


async def run_step(dependencies: Dependencies, body: bytes | str, dequeue_count: int = 1) -> None:
    """Handle one message of ``schedule-import-jobs``; raises for outages (the host retries it)."""
    try:
        message = StepMessage.parse(body)
    except ValueError:
        log.warning("ignored a message on %s that is not an import step", QUEUE)
        return
    storage = _storage(dependencies)
    table = storage.table(TABLE)
    await table.ensure()
    record, etag = await _read(table, message.job_id)
    if record is None or record.finished:
        return
    if message.step < record.next_step:
        await _resend_lost_message(storage, record, etag)
        return
    if message.step > record.next_step:
        log.warning("import job %s: message for step %d ahead of the checkpoint %d ignored",
                    message.job_id, message.step, record.next_step)
        return
    log.info("import job %s: step %d of %d (delivery %d)", message.job_id, message.step, record.steps,
             max(1, min(dequeue_count, 1000)))
    with contextlib.ExitStack() as slot:
        try:  # a step holds one of the process's import slots, as a synchronous import does (memory)
            slot.enter_context(import_slot())
        except Busy:
            await storage.queue(QUEUE).send(message.text(), delay_seconds=BUSY_WAIT_SECONDS)
            return
        try:
            if record.status == "queued":
                record, etag = await _start(table, record, etag)
            if message.step == 0:  # reference data: the one step that reads the whole payload
                schedule = await _payload(storage, record)
                steps = _plan(schedule, record)
                await _write_chunks(storage, record.job_id, schedule, steps)
                refs = await resolve(dependencies.dataverse, schedule)
                outcome = _StepOutcome(ImportSummary(referenceData=ReferenceCounts(**refs.created)))
                await _finish_step(storage, record, etag, steps[0], outcome)
                return
            schedule, step = await _chunk(storage, record, message.step)
            async with _agent_leases(storage, schedule, step) as held:
                if held is None:
                    await storage.queue(QUEUE).send(
                        StepMessage(message.job_id, message.step, message.waits + 1).text(),
                        delay_seconds=lease_wait_seconds(message.waits),
                    )
                    return
                record, etag = await _read(table, message.job_id)
                if record is None or record.finished or record.next_step != step.index:
                    return  # another delivery finished this step while we waited
                started = _precise_now()
                summary = await import_schedule(dependencies.dataverse, schedule, before_write=held.ensure_valid)
                # its referenceData is what this chunk created: nothing, unless a row appeared missing since step 0
                outcome = _StepOutcome(summary, held.names, started, _precise_now())
                await _finish_step(storage, record, etag, step, outcome)
        except LeaseLost:
            # an agent's lease may have lapsed (renewals failed or came late) or been taken: no more writes;
            # the same step comes back later and, comparing before it writes, completes what was cut
            log.warning("import job %s: step %d stopped, a lease was lost; it comes back", message.job_id, message.step)
            await storage.queue(QUEUE).send(StepMessage(message.job_id, message.step, message.waits + 1).text(),
                                            delay_seconds=lease_wait_seconds(message.waits))
        except _Permanent as failure:
            await _fail(table, message.job_id, failure.problem)
        except (dv.Unavailable, dv.Throttled, StorageUnavailable, UpstreamUnavailable, Busy):
            await _note_failure(table, message.job_id, OUTAGE)
            raise  # an outage: the host delivers the message again, then moves it to the poison queue
        except (dv.DataverseError, IntegrationError) as error:
            await _fail(table, message.job_id, _refusal(error))
        except Exception as error:
            await _note_failure(table, message.job_id, type(error).__name__)
            raise  # unexpected: retried like an outage, but the poison queue's answer says it may not help


async def fail_poisoned(dependencies: Dependencies, body: bytes | str) -> None:
    """Handle a message of ``schedule-import-jobs-poison``: its job failed on every attempt."""
    try:
        message = StepMessage.parse(body)
    except ValueError:
        log.warning("ignored a message on %s that is not an import step", POISON_QUEUE)
        return
    table = _storage(dependencies).table(TABLE)
    await table.ensure()
    record, _ = await _read(table, message.job_id)
    if record is None or record.finished:
        return
    if message.step < record.next_step and record.enqueued_step >= record.next_step:
        return  # a stale copy of a finished step; the job goes on with the next step's message
    entity = await table.get(message.job_id, "job")
    last = str((entity or {}).get("lastFailure") or OUTAGE)
    await _fail(table, message.job_id, OUTAGE_PROBLEM if last == OUTAGE else _problem(
        500, "Import job failed",
        f"A step failed on every attempt with an unexpected error ({last[:100]}). Submitting the same import "
        "again may not complete it; the app's logs have the details.", False))


async def _note_failure(table: Any, job_id: str, kind: str) -> None:
    """Best effort: what the latest failed attempt was, for the poison queue's answer (an outage, or an error type)."""
    try:
        await table.upsert({"PartitionKey": job_id, "RowKey": "job", "lastFailure": kind})
    except StorageError:
        log.warning("import job %s: the failed attempt could not be noted", job_id)


def _refusal(error: Exception) -> dict[str, Any]:
    if isinstance(error, dv.DataverseError):
        detail = (f"Dataverse refused a request of the import ({error.status}, error code {error.code or 'n/a'}). "
                  "Submitting the same import again completes it once the cause is fixed.")
        return _problem(502, "Import job failed", detail, False)
    status = getattr(error, "status", 500)
    return _problem(status if isinstance(status, int) else 500, "Import job failed",
                    getattr(error, "detail", "The import could not go on."), False)


@dataclass(frozen=True)
class _StepOutcome:
    summary: ImportSummary
    locks: Sequence[str] = ()
    writes_from: str | None = None
    writes_to: str | None = None

    def blob(self) -> bytes:
        return json.dumps({"summary": self.summary.model_dump(), "locks": list(self.locks),
                           "writesFrom": self.writes_from, "writesTo": self.writes_to},
                          separators=(",", ":")).encode()


def _precise_now() -> str:
    return _now().isoformat(timespec="microseconds").replace("+00:00", "Z")


async def _read(table: Any, job_id: str) -> tuple[JobRecord | None, str]:
    entity = await table.get(job_id, "job")
    if entity is None:
        return None, ""
    try:
        return JobRecord.from_entity(entity), entity.etag
    except ValueError:
        log.warning("import job %s: its row is unreadable; the step is dropped", job_id)
        return None, ""


async def _start(table: Any, record: JobRecord, etag: str) -> tuple[JobRecord, str]:
    for _ in range(CHECKPOINT_ATTEMPTS):
        started = record.start(_now())
        try:
            entity = await table.update(started.entity(), etag)
            return started, entity.etag
        except ChangedSinceRead:
            fresh, etag = await _read(table, record.job_id)
            if fresh is None:
                raise _Permanent(_problem(500, "Import job failed", "The job's row disappeared.", True)) from None
            record = fresh
            if record.status != "queued":
                return record, etag
    raise StorageUnavailable("the job's row kept changing")


async def _payload(storage: StorageAccount, record: JobRecord) -> ScheduleImport:
    body = await storage.container(PAYLOADS).get(f"{record.job_id}.json")
    if body is None:
        raise _Permanent(_problem(
            410, "Import job failed",
            "The job's stored payload is gone (deleted or purged). Submitting the same import again completes it.",
            True))
    try:
        return await asyncio.to_thread(parse_import, body)
    except InvalidInput:
        raise _Permanent(_problem(500, "Import job failed", "The job's stored payload no longer validates.",
                                  True)) from None


def _plan(schedule: ScheduleImport, record: JobRecord) -> list[Step]:
    steps = plan_for(schedule)
    if len(steps) != record.steps:
        raise _Permanent(_problem(500, "Import job failed", "The job's stored plan no longer matches its payload.",
                                  True))
    return steps


async def _write_chunks(storage: StorageAccount, job_id: str, schedule: ScheduleImport, steps: Sequence[Step]) -> None:
    """One blob per booking step (before step 0's checkpoint). Run again after a crash, it writes the same bytes."""
    payloads = storage.container(PAYLOADS)
    for step in steps[1:]:
        await payloads.put(_chunk_blob(job_id, step.index), await asyncio.to_thread(chunk_blob, schedule, step))


async def _chunk(storage: StorageAccount, record: JobRecord, index: int) -> tuple[ScheduleImport, Step]:
    """Booking step ``index``'s import, from its chunk blob. A job whose step 0 ran before chunk blobs
    existed has none: its steps read the whole payload, as they did then."""
    body = await storage.container(PAYLOADS).get(_chunk_blob(record.job_id, index))
    if body is None:
        log.warning("import job %s: step %d has no chunk blob; it reads the whole payload", record.job_id, index)
        steps = _plan(schedule := await _payload(storage, record), record)
        part = schedule_part(schedule, steps[index])
        return part, chunk_step(part, index)  # numbered within the part, as a chunk blob's step is
    try:
        return await asyncio.to_thread(read_chunk, body, index)
    except ValueError:
        raise _Permanent(_problem(
            500, "Import job failed",
            f"The job's stored part for step {index} is damaged. Submitting the same import again completes it.",
            True)) from None


def lock_name(email: str) -> str:
    """The lease blob of one agent: its Dataverse identity is its user, found by email (two sources
    may give one person different agentIds). Hashed: no personal data in blob names."""
    return hashlib.sha256(email.strip().casefold().encode()).hexdigest()


@dataclass(frozen=True)
class _HeldLeases:
    """The step's agents' leases (blob names sorted), held while it writes."""

    names: list[str]
    leases: list[Lease]

    def ensure_valid(self) -> None:
        """:class:`LeaseLost` unless every lease surely still holds: called before each write chunk."""
        for lease in self.leases:
            lease.ensure_valid()


@contextlib.asynccontextmanager
async def _agent_leases(storage: StorageAccount, schedule: ScheduleImport, step: Step
                        ) -> AsyncIterator[_HeldLeases | None]:
    """Every agent's lease of the step, taken in sorted order; ``None`` when another job holds one
    (what was taken is released at once)."""
    names = sorted({lock_name(schedule.agents[i].email) for i in step.agents})
    locks = storage.container(LOCKS)
    await locks.ensure()
    async with contextlib.AsyncExitStack() as stack:
        leases = []
        for name in names:
            try:
                leases.append(await stack.enter_async_context(locks.lease(name, seconds=LEASE_SECONDS)))
            except LeaseTaken:
                await stack.aclose()
                yield None
                return
        yield _HeldLeases(names, leases)
        if any(lease.lost for lease in leases):
            log.warning("import job step: a lease lapsed while the step ran (a renewal failed)")


async def _finish_step(storage: StorageAccount, record: JobRecord, etag: str, step: Step, outcome: _StepOutcome) -> None:
    """Step answer, then (last step) merged result, then the ETag-guarded checkpoint, then the next message."""
    payloads = storage.container(PAYLOADS)
    await payloads.put(_step_blob(record.job_id, step.index), outcome.blob())
    if step.index + 1 >= record.steps:
        await payloads.put(f"{record.job_id}/result.json", await _merged(storage, record))
    table = storage.table(TABLE)
    for _ in range(CHECKPOINT_ATTEMPTS):
        try:
            done = record.complete(step, _now())
        except InvalidTransition:
            return  # another delivery checkpointed this step first
        try:
            entity = await table.update(done.entity(), etag)
            break
        except ChangedSinceRead:
            fresh, etag = await _read(table, record.job_id)
            if fresh is None:
                return
            record = fresh
    else:
        raise StorageUnavailable("the job's row kept changing")
    if done.finished:
        log.info("import job %s succeeded", record.job_id)
        return
    await _send_next(storage, done, entity.etag)


async def _send_next(storage: StorageAccount, record: JobRecord, etag: str) -> None:
    await storage.queue(QUEUE).send(StepMessage(record.job_id, record.next_step).text())
    table = storage.table(TABLE)
    for _ in range(CHECKPOINT_ATTEMPTS):
        if record.enqueued_step >= record.next_step or record.finished:
            return
        try:
            await table.update(record.sent(record.next_step).entity(), etag)
            return
        except ChangedSinceRead:
            fresh, etag = await _read(table, record.job_id)
            if fresh is None:
                return
            record = fresh.sent(record.next_step) if fresh.next_step == record.next_step else fresh


async def _resend_lost_message(storage: StorageAccount, record: JobRecord, etag: str) -> None:
    """A redelivered message of a finished step: the next step's message was lost if it was never noted."""
    if record.enqueued_step < record.next_step:
        log.info("import job %s: re-sending the message of step %d", record.job_id, record.next_step)
        await _send_next(storage, record, etag)


async def _merged(storage: StorageAccount, record: JobRecord) -> bytes:
    payloads = storage.container(PAYLOADS)
    summaries = []
    for index in range(record.steps):
        raw = await payloads.get(_step_blob(record.job_id, index))
        if raw is None:
            raise _Permanent(_problem(500, "Import job failed", f"The answer of step {index} is missing.", True))
        summaries.append(ImportSummary.model_validate(json.loads(raw)["summary"]))
    return merge_summaries(summaries).model_dump_json().encode()


def _step_blob(job_id: str, index: int) -> str:
    return f"{job_id}/step-{index:04d}.json"


def _chunk_blob(job_id: str, index: int) -> str:
    return f"{job_id}/chunk-{index:04d}.json"


async def _fail(table: Any, job_id: str, problem: dict[str, Any]) -> None:
    for _ in range(CHECKPOINT_ATTEMPTS):
        record, etag = await _read(table, job_id)
        if record is None or record.finished:
            return
        try:
            await table.update(record.fail(problem, _now()).entity(), etag)
            log.info("import job %s failed: %s", job_id, problem.get("title"))
            return
        except ChangedSinceRead:
            continue
    raise StorageUnavailable("the job's row kept changing")


async def step_records(dependencies: Dependencies, job_id: str) -> list[dict[str, Any]]:
    """The finished steps' stored records (answer, lease names, write interval), for operators and tests."""
    storage = _storage(dependencies)
    if not JOB_ID.fullmatch(job_id):
        raise JobNotFound("There is no import job with this id.")
    record, _ = await _read(storage.table(TABLE), job_id)
    if record is None:
        raise JobNotFound("There is no import job with this id.")
    payloads = storage.container(PAYLOADS)
    found = []
    for index in range(record.next_step):
        raw = await payloads.get(_step_blob(job_id, index))
        if raw is not None:
            found.append({"step": index, **json.loads(raw)})
    return found


JOB_RETENTION_DAYS = 7
"""How long a job (row, payload, chunks, step answers, result) is kept after it was submitted: as long as
its queue messages live (the queue's default time-to-live), so no message outlives its job."""
PURGE_LIMIT = 500
"""Jobs deleted per purge run at most; the next run goes on."""


async def purge_old_jobs(storage: StorageAccount, now: datetime, *, days: int = JOB_RETENTION_DAYS,
                         limit: int = PURGE_LIMIT) -> int:
    """Delete the jobs submitted more than ``days`` ago: blobs first, then the row (a run cut short
    leaves the row, and the next run finds the job again). Returns how many were deleted."""
    from datetime import timedelta

    from integration.schedules.job_plan import timestamp

    table = storage.table(TABLE)
    await table.ensure()
    cutoff = timestamp(now - timedelta(days=max(1, days)))
    old: list[tuple[str, int]] = []
    async for entity in table.query("RowKey eq 'job' and submittedAt lt @cutoff", parameters={"cutoff": cutoff},
                                    select=["PartitionKey", "steps"]):
        steps = entity.get("steps")
        job_id = str(entity.get("PartitionKey", ""))
        if JOB_ID.fullmatch(job_id):
            old.append((job_id, steps if isinstance(steps, int) and 0 <= steps <= 100_000 else 0))
        if len(old) >= limit:
            break
    payloads = storage.container(PAYLOADS)
    await payloads.ensure()
    for job_id, steps in old:
        for name in (f"{job_id}.json", f"{job_id}/result.json", *(_step_blob(job_id, i) for i in range(steps)),
                     *(_chunk_blob(job_id, i) for i in range(1, steps))):
            await payloads.delete(name)
        await table.delete(job_id, "job")
    return len(old)
