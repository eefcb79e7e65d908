"""A retry policy fast enough for tests: the same attempts and rules, millisecond back-off."""

from __future__ import annotations

from dataverse import RetryPolicy

FAST = RetryPolicy(max_attempts=3, max_total_wait=2.0, base_delay=0.01, max_delay=0.05)
