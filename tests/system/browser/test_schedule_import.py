"""The demo's schedule import: a sample WEM schedule POSTed through the devhost, seen in Dataverse.

The expected bookings are worked out here from the sample file and the seeded users (committed
segments of agents who have a user), independently of the importer's own code.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from tests.support import ROOT, loopback
from tests.system.browser.stack import DemoStack

pytestmark = pytest.mark.browser

SAMPLES = sorted((ROOT / "samples" / "schedules").glob("*.json"))
BOOKINGS = "bookableresourcebookings"


def _utc(iso: str) -> datetime:
    return datetime.fromisoformat(iso).astimezone(timezone.utc)


def _expected(schedule: dict[str, Any], user_emails: set[str]) -> tuple[set[tuple[datetime, datetime]], list[str]]:
    """(start, end) of every booking the import should hold, and the agents it should skip."""
    spans: set[tuple[datetime, datetime]] = set()
    skipped = []
    for agent in schedule["agents"]:
        if agent["email"].lower() not in user_emails:
            skipped.append(agent["agentId"])
            continue
        spans |= {
            (_utc(s["start"]), _utc(s["end"]))
            for s in agent["segments"]
            if s.get("state", "committed") == "committed"
        }
    return spans, skipped


def _import(stack: DemoStack, body: bytes) -> dict[str, Any]:
    response = loopback.post(
        f"{stack.app.url}/api/schedules/import",
        content=body,
        headers={"x-functions-key": stack.function_key, "content-type": "application/json"},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return response.json()


def _index_count(page: Any, stack: DemoStack, entity_set: str) -> int:
    """The row count the emulator's index page shows for a table."""
    page.goto(f"{stack.dataverse.url}/_emulator/")
    return int(page.locator(f"table tr:has(td:text-is('{entity_set}')) td").nth(2).inner_text())


@pytest.mark.parametrize("sample", SAMPLES, ids=[p.name for p in SAMPLES])
def test_sample_schedule_import_creates_its_bookings_once(stack: DemoStack, page: Any, sample: Path) -> None:
    body = sample.read_bytes()
    users = {str(u["internalemailaddress"]).lower() for u in stack.dataverse.rows("systemusers")
             if u.get("internalemailaddress")}
    spans, skipped = _expected(json.loads(body), users)
    assert spans, f"{sample.name} should book someone the demo data knows"
    assert _index_count(page, stack, BOOKINGS) == 0

    first = _import(stack, body)
    assert (first["created"], first["updated"], first["removed"]) == (len(spans), 0, 0)
    assert sorted(s["agentId"] for s in first["skipped"]) == sorted(skipped)

    rows = stack.dataverse.rows(BOOKINGS)
    assert {(_utc(r["starttime"]), _utc(r["endtime"])) for r in rows} == spans
    assert all(r["duration"] == (_utc(r["endtime"]) - _utc(r["starttime"])).total_seconds() // 60 for r in rows)
    assert _index_count(page, stack, BOOKINGS) == len(spans)

    again = _import(stack, body)
    assert (again["created"], again["updated"], again["unchanged"], again["removed"]) == (0, 0, len(spans), 0)
    assert _index_count(page, stack, BOOKINGS) == len(spans)
