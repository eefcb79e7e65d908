"""The pure job core: steps, the job record's state machine, the checkpoint, merged answers."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from integration.schedules.importer import NO_USER, ImportSummary, ReferenceCounts, Skipped
from integration.schedules.job_plan import (
    MAX_LEASE_WAIT_SECONDS,
    InvalidTransition,
    JobRecord,
    Step,
    StepMessage,
    lease_wait_seconds,
    merge_summaries,
    plan_steps,
)

NOW = datetime(2026, 12, 1, 10, 0, tzinfo=timezone.utc)


@given(st.lists(st.integers(0, 3000), max_size=60), st.integers(1, 2500), st.integers(1, 12))
def test_chunks_cover_every_agent_once_in_order_within_bounds(counts, max_segments, max_agents):
    steps = plan_steps(counts, max_segments=max_segments, max_agents=max_agents)
    assert steps[0].kind == "reference" and steps[0].agents == ()
    chunks = steps[1:]
    assert [s.index for s in steps] == list(range(len(steps)))
    assert [i for s in chunks for i in s.agents] == list(range(len(counts)))
    for chunk in chunks:
        weight = sum(max(1, counts[i]) for i in chunk.agents)
        assert chunk.kind == "bookings" and chunk.agents
        assert chunk.segments == sum(counts[i] for i in chunk.agents)
        assert len(chunk.agents) <= max_agents
        assert weight <= max_segments or len(chunk.agents) == 1  # only a lone big agent exceeds
    # greedy: a chunk closes only when the next agent would not fit
    for chunk, following in zip(chunks, chunks[1:], strict=False):
        weight = sum(max(1, counts[i]) for i in chunk.agents) + max(1, counts[following.agents[0]])
        assert weight > max_segments or len(chunk.agents) == max_agents
    assert sum(s.segments for s in steps) == sum(counts)


def test_a_twenty_thousand_segment_job_is_ten_chunks_of_two_thousand():
    steps = plan_steps([100] * 200)
    assert len(steps) == 11
    assert {s.segments for s in steps[1:]} == {2000}


def _record(**changes) -> JobRecord:
    record = JobRecord("0" * 32, "queued", "2026-12-01T09:59:00Z", steps=3, segments=150)
    return JobRecord(**{**record.__dict__, **changes})


def test_job_moves_queued_running_succeeded_with_progress_by_segments():
    steps = plan_steps([50, 100], max_segments=100)
    record = _record(steps=len(steps))
    assert len(steps) == 3
    record = record.start(NOW)
    assert (record.status, record.started_at) == ("running", "2026-12-01T10:00:00Z")
    for step, done in zip(steps, (0, 50, 150), strict=True):
        record = record.complete(step, NOW)
        assert record.done == done
    assert (record.status, record.next_step, record.finished_at) == ("succeeded", 3, "2026-12-01T10:00:00Z")
    assert record.document()["progress"] == {"segments": 150, "done": 150}


def test_a_step_completes_only_once_and_only_in_order():
    steps = plan_steps([50, 100], max_segments=100)
    record = _record().start(NOW).complete(steps[0], NOW)
    with pytest.raises(InvalidTransition):
        record.complete(steps[0], NOW)
    with pytest.raises(InvalidTransition):
        record.complete(steps[2], NOW)
    with pytest.raises(InvalidTransition):
        _record().complete(steps[0], NOW)  # a queued job has not started


def test_finished_jobs_stay_finished():
    failed = _record().start(NOW).fail({"title": "x"}, NOW)
    assert failed.status == "failed" and failed.document()["error"] == {"title": "x"}
    with pytest.raises(InvalidTransition):
        failed.fail({"title": "again"}, NOW)
    with pytest.raises(InvalidTransition):
        failed.start(NOW)


def test_the_row_round_trips_and_a_tampered_row_is_refused():
    record = _record().start(NOW).sent(2).fail({"title": "t", "status": 503}, NOW)
    entity = record.entity()
    assert JobRecord.from_entity(entity) == record
    for broken in ({"status": "paused"}, {"steps": -1}, {"done": "many"}, {"nextStep": True}):
        with pytest.raises(ValueError):
            JobRecord.from_entity({**entity, **broken})


def test_merged_answer_sums_counts_and_lists_agents_without_user_first():
    parts = [
        ImportSummary(referenceData=ReferenceCounts(resources=2, activityTypes=3, statuses=1, plans=1)),
        ImportSummary(created=5, unchanged=1, removed=2, skipped=[
            Skipped(agentId="a1", reason=NO_USER), Skipped(agentId="a2", reason="segment $.x was rejected: y")]),
        ImportSummary(created=1, updated=4, skipped=[Skipped(agentId="a3", reason=NO_USER)]),
    ]
    merged = merge_summaries(parts)
    assert merged.model_dump() == {
        "created": 6, "updated": 4, "unchanged": 1, "removed": 2,
        "skipped": [{"agentId": "a1", "reason": NO_USER}, {"agentId": "a3", "reason": NO_USER},
                    {"agentId": "a2", "reason": "segment $.x was rejected: y"}],
        "referenceData": {"resources": 2, "activityTypes": 3, "statuses": 1, "plans": 1},
    }
    assert merge_summaries([]) == ImportSummary()


def test_messages_round_trip_and_foreign_ones_are_refused():
    message = StepMessage("ab" * 16, 3, 2)
    assert StepMessage.parse(message.text()) == message
    assert StepMessage.parse(message.text().encode()) == message
    for text in ("", "[]", "{}", '{"jobId":"../x","step":1}', '{"jobId":"' + "ab" * 16 + '","step":-1}',
                 '{"jobId":"' + "ab" * 16 + '","step":true}', "x" * 2000):
        with pytest.raises(ValueError):
            StepMessage.parse(text)


def test_lease_waits_grow_and_are_bounded():
    waits = [lease_wait_seconds(n) for n in range(20)]
    assert waits[:4] == [1, 2, 4, 8]
    assert waits == sorted(waits) and max(waits) == MAX_LEASE_WAIT_SECONDS
    assert lease_wait_seconds(10**9) == MAX_LEASE_WAIT_SECONDS


@pytest.mark.parametrize("window", [True, False])
def test_a_chunk_blob_reads_back_as_exactly_its_part_of_the_payload(window):
    import json

    from integration.schedules.job_plan import chunk_blob, plan_for, read_chunk, schedule_part
    from integration.schedules.payload import parse_import
    from samples.schedules import generate

    document = generate.schedule(agents=45, segments_per_agent=100)  # chunks of 20, 20 and 5 agents
    if not window:
        del document["window"], document["plan"]
    first = document["agents"][0]
    first["name"], first["segments"][0]["state"], first["segments"][1]["state"] = "Zoë Ñúñez ✓", "canceled", "proposed"
    first["segments"][2]["start"] = first["segments"][2]["start"].replace("Z", "+02:00")  # any offset: UTC once read
    first["segments"][2]["end"] = first["segments"][2]["end"].replace("Z", "+02:00")
    first["segments"][3]["notes"] = "extra fields are not kept"
    schedule = parse_import(json.dumps(document).encode())
    steps = plan_for(schedule)
    assert [len(s.agents) for s in steps[1:]] == [20, 20, 5]
    for step in steps[1:]:
        blob = chunk_blob(schedule, step)
        assert blob == chunk_blob(schedule, step)  # written again after a crash: the same bytes
        part, read = read_chunk(blob, step.index)
        assert part.model_dump() == schedule_part(schedule, step).model_dump()
        assert read == Step(step.index, "bookings", tuple(range(len(step.agents))), step.segments)


def test_a_damaged_or_misplaced_chunk_blob_is_refused():
    import json

    from integration.schedules.job_plan import chunk_blob, plan_for, read_chunk
    from integration.schedules.payload import parse_import
    from samples.schedules import generate

    schedule = parse_import(json.dumps(generate.schedule(agents=2, segments_per_agent=3)).encode())
    step = plan_for(schedule)[1]
    good = json.loads(chunk_blob(schedule, step))
    broken_segment = json.loads(chunk_blob(schedule, step))
    broken_segment["agents"][0]["segments"][0]["available"] = "yes"
    for body, index in [
        (chunk_blob(schedule, step), 2),  # another step's chunk
        (b"", 1), (b"{not json", 1), (b"[]", 1), (b"{}", 1), (b'{"step": 1, "agents": []}', 1),
        (json.dumps({**good, "step": "1"}).encode(), 1),
        (json.dumps({k: v for k, v in good.items() if k != "source"}).encode(), 1),
        (json.dumps(broken_segment).encode(), 1),
        (chunk_blob(schedule, step)[:-10], 1),  # cut short
    ]:
        with pytest.raises(ValueError):
            read_chunk(body, index)
