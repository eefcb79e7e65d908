"""Memory per segment while validating and planning (the full 100,000-segment run is in benchmarks/)."""

from __future__ import annotations

import json
import subprocess
import sys
import tracemalloc
from pathlib import Path

import pytest

from integration.schedules.bookings import ResolvedReferences, ScopeTest, desired_bookings, diff
from samples.schedules import generate
from tests.conftest import ROOT

SEGMENTS = 10_000
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


def test_a_body_of_too_many_tiny_values_is_refused_before_it_is_decoded():
    """A 20 MiB body of ``{}`` would take over 500 MiB as Python objects: 413 from a byte count."""
    from integration.errors import PayloadTooLarge
    from integration.schedules.payload import MAX_JSON_CONTAINERS, MAX_JSON_VALUES, parse_import

    head = b'{"source":"x","agents":[],"pad":['
    for unit, count in ((b"{},", MAX_JSON_CONTAINERS), (b"[],", MAX_JSON_CONTAINERS), (b"0,", MAX_JSON_VALUES)):
        body = head + unit * count + b"0]}"
        with pytest.raises(PayloadTooLarge):
            parse_import(body)
    # the control: at the bounds, the body is decoded and found valid
    assert parse_import(head + b"{}," * (MAX_JSON_CONTAINERS - 10) + b"0]}").agents == []
    assert parse_import(head + b"0," * (MAX_JSON_VALUES - 10) + b"0]}").agents == []


@pytest.mark.parametrize(
    "shape", ["empty arrays", "short strings at the value bound", "100,000 invalid segments, padded to 20 MiB"]
)
def test_the_most_expensive_20_mib_bodies_stay_under_8_times_their_size(shape):
    """Peak RSS in a fresh process (see benchmarks/import_memory.py): before the bounds, 26 times."""
    if not Path("/proc/self/clear_refs").exists():
        pytest.skip("needs Linux /proc to read the peak resident set")
    done = subprocess.run([sys.executable, "-m", "benchmarks.import_memory", "--one", shape], cwd=ROOT,
                          capture_output=True, text=True, check=True, timeout=300)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["body_mib"] > 19
    assert result["ratio"] <= 8, result
