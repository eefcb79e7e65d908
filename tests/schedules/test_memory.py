"""Memory per segment while validating and planning (the full 100,000-segment run is in benchmarks/)."""

from __future__ import annotations

import json
import tracemalloc

from integration.schedules.bookings import ResolvedReferences, ScopeTest, desired_bookings, diff
from samples.schedules import generate

SEGMENTS = 2_000  # bytes per segment measure the same at 2,000 and 10,000 (1,840 and 1,815)
BUDGET_PER_SEGMENT = 3 * 1024
"""3 KiB a segment keeps 100,000 segments (the request maximum) under 300 MiB."""


def test_validating_and_planning_stay_within_the_memory_budget():
    from integration.schedules.payload import parse_import

    body = json.dumps(generate.schedule(agents=SEGMENTS // 50, segments_per_agent=50)).encode()
    tracemalloc.start()
    try:
        schedule = parse_import(body)
        refs = ResolvedReferences(
            resources={a.agentId: f"{i:08x}-0000-4000-8000-000000000000" for i, a in enumerate(schedule.agents)},
            activity_types={name.casefold(): "a" * 36 for name, _ in generate.ACTIVITIES},
            statuses={name.casefold(): "b" * 36 for name in generate.STATUSES},
            plan="c" * 36,
        )
        changes = diff(desired_bookings(schedule, refs), [], ScopeTest({}))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(changes.create) == SEGMENTS
    assert peak < SEGMENTS * BUDGET_PER_SEGMENT, f"{peak / SEGMENTS:.0f} bytes per segment"
