"""Chunk sizes for bulk writes: the pure decisions of integration.schedules.pacing."""

from __future__ import annotations

import pytest

from integration.schedules.pacing import ChunkSizer


def plan(sizer: ChunkSizer, rows: int, lanes: int) -> list[int]:
    sizes = []
    while rows:
        size = sizer.next_size(rows, lanes)
        sizes.append(size)
        rows -= size
    return sizes


def test_before_any_measurement_requests_carry_the_first_size():
    sizer = ChunkSizer(first_rows=500, max_rows=1000)
    assert plan(sizer, 1_800, 5) == [500, 500, 500, 300]


def test_once_measured_the_rows_left_become_equal_chunks_in_a_multiple_of_the_lanes():
    sizer = ChunkSizer(target_seconds=10.0, max_rows=1000)
    sizer.record(500, 5.0)  # 10 ms a row: 1,000 rows fit the target
    sizes = plan(sizer, 7_500, 5)
    assert len(sizes) == 10 and sum(sizes) == 7_500 and set(sizes) == {750}


def test_a_slow_request_shrinks_the_next_chunks_at_once_and_a_fast_one_only_gradually():
    sizer = ChunkSizer(target_seconds=10.0, max_rows=1000)
    sizer.record(500, 5.0)
    assert sizer.largest() == 1000
    sizer.record(500, 50.0)  # 100 ms a row: the server (or the table) got slow
    assert sizer.largest() == 100
    assert sizer.next_size(10_000, 4) <= 100
    sizer.record(100, 1.0)  # fast again: the estimate moves a third of the way
    assert 100 < sizer.largest() < 1000


def test_sizes_stay_within_bounds_whatever_is_measured():
    sizer = ChunkSizer(target_seconds=10.0, max_rows=1000)
    sizer.record(10, 1e-9)
    assert sizer.largest() == 1000
    sizer.record(1, 10_000.0)
    assert sizer.largest() == 1
    sizer.record(0, 5.0)
    sizer.record(5, float("nan"))
    assert sizer.largest() == 1
    assert sizer.next_size(0, 4) == 0


@pytest.mark.parametrize("bad", [{"target_seconds": 0}, {"first_rows": 0}, {"first_rows": 2000, "max_rows": 1000}])
def test_nonsense_settings_are_refused(bad):
    with pytest.raises(ValueError):
        ChunkSizer(**bad)
