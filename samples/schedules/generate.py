"""Synthetic WEM schedules of any size, for tests, benchmarks and trying the import out.

``python -m samples.schedules.generate --agents 200 --segments 50 > big.json`` writes one;
the agents' emails are ``agentNNNN@contoso.example`` (seed those as systemusers).
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime, timedelta, timezone
from typing import Any

ACTIVITIES = (
    ("Phone - Inbound", True), ("Email", True), ("Chat", True), ("Back office", True),
    ("Break", False), ("Lunch", False), ("Training", False), ("Meeting", False),
)
STATUSES = ("Scheduled", "Confirmed", "Overtime")
WEEK = datetime(2026, 11, 16, tzinfo=timezone.utc)
SEGMENT = timedelta(minutes=30)
PER_DAY = 10
MOVE_BY = timedelta(hours=10)
"""Moved segments go to the evening, which the generator leaves free, so nothing overlaps."""


def email(index: int) -> str:
    return f"agent{index:04d}@contoso.example"


def schedule(
    agents: int, segments_per_agent: int, *, activities: int = 8, statuses: int = 3, plan: str | None = "Week 47",
    source: str = "nice-iex",
) -> dict[str, Any]:
    """``agents`` agents with ``segments_per_agent`` committed, back-to-back 30-minute segments each."""
    days = -(-segments_per_agent // PER_DAY)
    document: dict[str, Any] = {
        "source": source,
        "window": {"start": _iso(WEEK), "end": _iso(WEEK + timedelta(days=max(days, 1)))},
        "agents": [],
    }
    if plan is not None:
        document["plan"] = plan
    for a in range(agents):
        segments = []
        for s in range(segments_per_agent):
            start = WEEK + timedelta(days=s // PER_DAY, hours=8) + (s % PER_DAY) * SEGMENT
            activity, available = ACTIVITIES[(a + s) % activities]
            segments.append({
                "activity": activity, "available": available, "status": STATUSES[(a + s) % statuses],
                "start": _iso(start), "end": _iso(start + SEGMENT),
            })
        document["agents"].append(
            {"agentId": f"iex-{10000 + a}", "name": f"Agent {a:04d}", "email": email(a), "segments": segments}
        )
    return document


def move(document: dict[str, Any], every: int = 20) -> int:
    """Move every ``every``-th segment to the evening (every=20 moves 5%); returns how many moved."""
    moved = 0
    n = 0
    for agent in document["agents"]:
        for segment in agent["segments"]:
            n += 1
            if n % every == 0:
                for edge in ("start", "end"):
                    segment[edge] = _iso(datetime.fromisoformat(segment[edge]) + MOVE_BY)
                moved += 1
    return moved


def _iso(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--agents", type=int, default=200)
    parser.add_argument("--segments", type=int, default=50, help="segments per agent")
    args = parser.parse_args()
    json.dump(schedule(args.agents, args.segments), sys.stdout)


if __name__ == "__main__":
    main()
