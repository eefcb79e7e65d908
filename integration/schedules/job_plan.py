"""Schedule-import jobs, the pure part (docs/spec.md#24-post-apischedulesimport, docs/spec.md#26-get-apischedulesimportjobsjobid): steps, job record, merge.

A job runs a validated :class:`ScheduleImport` as resumable steps:

- step 0, **reference data**: every user, resource, activity type, status and plan the schedule
  needs, found or created (matched by name, created only when missing, deterministic ids);
- steps 1..n, **booking chunks**: consecutive agents of the payload, grouped so that a chunk holds
  at most :data:`MAX_CHUNK_SEGMENTS` segments and :data:`MAX_CHUNK_AGENTS` agents (an agent is
  never split: one agent with more segments is a chunk of its own). A chunk is a whole import of
  its agents: it reads their bookings, creates and updates, then removes what the schedule no
  longer has. Removals run per chunk, after that chunk's writes, so within any agent creates and
  updates come before removals, as in the synchronous import.

Step 0 also writes each booking chunk's part of the payload as a blob of its own
(:func:`chunk_blob`), so a booking step reads and parses only its chunk (:func:`read_chunk`), not
the whole payload.

Progress counts segments: the total of the payload, and those of the chunks finished.

The job record (one table row) moves ``queued -> running -> succeeded | failed``; its checkpoint
``next_step`` is the first step not yet finished. Each step's answer is kept apart and the final
result merges them into the same :class:`ImportSummary` a synchronous import answers.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Any, Literal

from integration.errors import InvalidInput
from integration.json_input import parse_json
from integration.schedules.importer import NO_USER, ImportSummary, ReferenceCounts, Skipped
from integration.schedules.payload import Agent, ScheduleImport, validate_import

MAX_CHUNK_SEGMENTS = 2_000
"""Segments per booking chunk at most: at Dataverse's standard cost (about 2,000 booking writes a
minute with 5 lanes, docs/cost-model.md) a full chunk of creates takes about a minute, far under
the 10 minutes a queue message stays hidden while its function runs."""
MAX_CHUNK_AGENTS = 100
"""Agents per chunk at most: a chunk holds one lease blob per agent, each renewed in the background."""

JOB_ID = re.compile(r"^[0-9a-f]{32}$")
"""A job id: 32 lowercase hex digits (a random UUID's hex). Anything else is not a job (404)."""

Status = Literal["queued", "running", "succeeded", "failed"]
StepKind = Literal["reference", "bookings"]


class InvalidTransition(ValueError):
    """A job record was asked to move where its state machine does not go."""


@dataclass(frozen=True)
class Step:
    index: int
    kind: StepKind
    agents: tuple[int, ...] = ()
    """Indexes into the payload's ``agents`` (booking chunks only)."""
    segments: int = 0


def plan_steps(
    segments_per_agent: Sequence[int], *, max_segments: int = MAX_CHUNK_SEGMENTS, max_agents: int = MAX_CHUNK_AGENTS
) -> list[Step]:
    """The steps of a job whose agents have ``segments_per_agent`` segments, in payload order.

    Agents are packed greedily into consecutive chunks; an agent without segments weighs one
    (it still has a window to clear). Deterministic: every worker computes the same plan from
    the same payload.
    """
    if max_segments < 1 or max_agents < 1:
        raise ValueError("chunk bounds must be at least 1")
    steps = [Step(0, "reference")]
    current: list[int] = []
    weight = 0
    segments = 0

    def close() -> None:
        nonlocal current, weight, segments
        if current:
            steps.append(Step(len(steps), "bookings", tuple(current), segments))
        current, weight, segments = [], 0, 0

    for index, count in enumerate(segments_per_agent):
        cost = max(1, count)
        if current and (weight + cost > max_segments or len(current) >= max_agents):
            close()
        current.append(index)
        weight += cost
        segments += count
    close()
    return steps


def plan_for(schedule: ScheduleImport) -> list[Step]:
    return plan_steps([len(agent.segments) for agent in schedule.agents])


def schedule_part(schedule: ScheduleImport, step: Step) -> ScheduleImport:
    """The import of just this chunk's agents (same source, plan and window)."""
    agents = [schedule.agents[i] for i in step.agents]
    return ScheduleImport.model_construct(
        source=schedule.source, plan=schedule.plan, window=schedule.window, agents=agents
    )


def chunk_blob(schedule: ScheduleImport, step: Step) -> bytes:
    """What booking step ``step`` reads: its agents with their segments, and the job's source, plan
    and window, in the payload's own shape (times in UTC, names as validated) plus the step's index.
    Deterministic: writing it again gives the same bytes."""
    times: dict[datetime, str] = {}  # shifts start and end on few distinct instants: format each once

    def text(moment: datetime) -> str:
        if (found := times.get(moment)) is None:
            found = times[moment] = moment.isoformat()
        return found

    def agent_document(agent: Agent) -> dict[str, Any]:
        return {
            "agentId": agent.agentId, "name": agent.name, "email": agent.email,
            "segments": [{"activity": s.activity, "available": s.available, "status": s.status, "state": s.state,
                          "start": text(s.start), "end": text(s.end)} for s in agent.segments],
        }

    window = schedule.window
    document = {
        "step": step.index, "source": schedule.source, "plan": schedule.plan,
        "window": {"start": text(window.start), "end": text(window.end)} if window else None,
        "agents": [agent_document(schedule.agents[i]) for i in step.agents],
    }
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()


def read_chunk(body: bytes, index: int) -> tuple[ScheduleImport, Step]:
    """The import of booking step ``index`` and the step itself, from its :func:`chunk_blob`.

    The blob is the app's own data, validated at submit; it is still checked as a payload is (a
    chunk is a valid import on its own), so a damaged blob raises ``ValueError`` instead of
    importing something else.
    """
    try:
        document = parse_json(body)
        if not isinstance(document, dict) or document.get("step") != index or not document.get("agents"):
            raise ValueError(f"not the chunk of step {index}")
        part = validate_import(document, consume=True)
    except InvalidInput:
        raise ValueError(f"the chunk of step {index} does not validate") from None
    return part, chunk_step(part, index)


def chunk_step(part: ScheduleImport, index: int) -> Step:
    """Booking step ``index`` as it runs on its own ``part`` of the payload: its agents numbered from 0."""
    return Step(index, "bookings", tuple(range(len(part.agents))), part.segment_count)


def merge_summaries(summaries: Iterable[ImportSummary]) -> ImportSummary:
    """One answer for the whole job, in the shape (and order of ``skipped``) of a synchronous import:
    agents without a user first, in payload order, then each refused booking, in step order."""
    merged = ImportSummary()
    refs = ReferenceCounts()
    no_user: list[Skipped] = []
    refused: list[Skipped] = []
    for part in summaries:
        merged.created += part.created
        merged.updated += part.updated
        merged.unchanged += part.unchanged
        merged.removed += part.removed
        for name in ReferenceCounts.model_fields:
            setattr(refs, name, getattr(refs, name) + getattr(part.referenceData, name))
        for item in part.skipped:
            (no_user if item.reason == NO_USER else refused).append(item)
    merged.skipped = no_user + refused
    merged.referenceData = refs
    return merged


@dataclass(frozen=True)
class JobRecord:
    """The job row: state, times, progress and the checkpoint."""

    job_id: str
    status: Status
    submitted_at: str
    steps: int
    segments: int
    next_step: int = 0
    """The first step not yet finished (the checkpoint)."""
    enqueued_step: int = 0
    """The highest step a message was sent for: a redelivered older message re-sends a lost one."""
    done: int = 0
    started_at: str | None = None
    finished_at: str | None = None
    error: dict[str, Any] | None = field(default=None)

    @property
    def finished(self) -> bool:
        return self.status in ("succeeded", "failed")

    def start(self, now: datetime) -> JobRecord:
        if self.status == "running":
            return self
        if self.status != "queued":
            raise InvalidTransition(f"a {self.status} job does not start")
        return replace(self, status="running", started_at=timestamp(now))

    def complete(self, step: Step, now: datetime) -> JobRecord:
        """The checkpoint after ``step``: the last step ends the job (succeeded)."""
        if self.status != "running":
            raise InvalidTransition(f"a {self.status} job completes no step")
        if step.index != self.next_step:
            raise InvalidTransition(f"step {step.index} is not the next step ({self.next_step})")
        last = step.index + 1 >= self.steps
        return replace(
            self,
            next_step=step.index + 1,
            done=min(self.segments, self.done + step.segments),
            status="succeeded" if last else "running",
            finished_at=timestamp(now) if last else None,
        )

    def fail(self, problem: Mapping[str, Any], now: datetime) -> JobRecord:
        if self.finished:
            raise InvalidTransition(f"a {self.status} job does not fail")
        return replace(self, status="failed", error=dict(problem), finished_at=timestamp(now),
                       started_at=self.started_at or timestamp(now))

    def sent(self, step: int) -> JobRecord:
        return replace(self, enqueued_step=max(self.enqueued_step, step))

    def entity(self) -> dict[str, Any]:
        """The table entity (PartitionKey = job id, RowKey = ``job``)."""
        return {
            "PartitionKey": self.job_id, "RowKey": "job", "status": self.status,
            "submittedAt": self.submitted_at, "startedAt": self.started_at or "", "finishedAt": self.finished_at or "",
            "steps": self.steps, "segments": self.segments, "nextStep": self.next_step,
            "enqueuedStep": self.enqueued_step, "done": self.done,
            "error": json.dumps(self.error, separators=(",", ":")) if self.error is not None else "",
        }

    @classmethod
    def from_entity(cls, entity: Mapping[str, Any]) -> JobRecord:
        status = entity.get("status")
        if status not in ("queued", "running", "succeeded", "failed"):
            raise ValueError("not a job row")
        error = entity.get("error") or ""
        return cls(
            job_id=str(entity["PartitionKey"]), status=status, submitted_at=str(entity.get("submittedAt") or ""),
            steps=_bounded(entity.get("steps"), 1, 1_000_000), segments=_bounded(entity.get("segments"), 0, 10_000_000),
            next_step=_bounded(entity.get("nextStep"), 0, 1_000_000),
            enqueued_step=_bounded(entity.get("enqueuedStep"), 0, 1_000_000),
            done=_bounded(entity.get("done"), 0, 10_000_000),
            started_at=entity.get("startedAt") or None, finished_at=entity.get("finishedAt") or None,
            error=json.loads(error) if error else None,
        )

    def document(self, result: ImportSummary | None = None) -> dict[str, Any]:
        """The status answer of docs/spec.md#26-get-apischedulesimportjobsjobid."""
        body: dict[str, Any] = {
            "jobId": self.job_id, "status": self.status, "submittedAt": self.submitted_at,
            "startedAt": self.started_at, "finishedAt": self.finished_at,
            "progress": {"segments": self.segments, "done": self.done},
        }
        if self.status == "succeeded" and result is not None:
            body["result"] = result.model_dump()
        if self.status == "failed" and self.error is not None:
            body["error"] = self.error
        return body


def new_job(job_id: str, schedule: ScheduleImport, now: datetime) -> tuple[JobRecord, list[Step]]:
    steps = plan_for(schedule)
    return JobRecord(job_id, "queued", timestamp(now), steps=len(steps), segments=schedule.segment_count), steps


def timestamp(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def _bounded(value: Any, low: int, high: int) -> int:
    """A number read back from storage, as an int within ``[low, high]`` (anything else is a broken row)."""
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError("not a job row")
    return value


@dataclass(frozen=True)
class StepMessage:
    """A queue message: which job, which step, and how many times it already waited for a lease."""

    job_id: str
    step: int
    waits: int = 0

    def text(self) -> str:
        return json.dumps({"jobId": self.job_id, "step": self.step, "waits": self.waits}, separators=(",", ":"))

    @classmethod
    def parse(cls, body: bytes | str) -> StepMessage:
        """A message as received; ``ValueError`` for anything this app did not send."""
        if len(body) > 1024:
            raise ValueError("message too long")
        try:
            data = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            raise ValueError("not JSON") from None
        if not isinstance(data, dict):
            raise ValueError("not an object")
        job_id, step, waits = data.get("jobId"), data.get("step"), data.get("waits", 0)
        if not isinstance(job_id, str) or not JOB_ID.fullmatch(job_id):
            raise ValueError("no job id")
        for number in (step, waits):
            if isinstance(number, bool) or not isinstance(number, int) or not 0 <= number <= 1_000_000:
                raise ValueError("bad step or waits")
        return cls(job_id, step, waits)


MAX_LEASE_WAIT_SECONDS = 60
FIRST_LEASE_WAIT_SECONDS = 1


def lease_wait_seconds(waits: int) -> int:
    """Delay before a step whose agents another job holds tries again: 1, 2, 4 ... 60 seconds."""
    return min(MAX_LEASE_WAIT_SECONDS, FIRST_LEASE_WAIT_SECONDS * 2 ** min(max(0, waits), 6))
