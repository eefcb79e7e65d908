"""The schedule import as the contract suite drives it: the route, a one-agent payload, and reading the effect."""

from __future__ import annotations

import copy
from typing import Any

from tests.system.contract.dataverse_admin import DataverseAdmin

ROUTE = "/api/schedules/import"
SETUP = "4beb9fdb-48e9-453f-b008-5862ff902c5d"
AGENT_EMAIL = "a.smith@contoso.com"
SAMPLE: dict[str, Any] = {
    "source": "nice-iex",
    "plan": "Week 47",
    "window": {"start": "2026-11-16T00:00:00Z", "end": "2026-11-23T00:00:00Z"},
    "agents": [{
        "agentId": "iex-10234", "name": "Alex Smith", "email": AGENT_EMAIL,
        "segments": [
            {"activity": "Phone - Inbound", "available": True, "status": "Scheduled", "state": "committed",
             "start": "2026-11-16T14:00:00Z", "end": "2026-11-16T16:00:00Z"},
            {"activity": "Lunch", "available": False, "status": "Scheduled",
             "start": "2026-11-16T16:00:00Z", "end": "2026-11-16T16:30:00Z"},
        ],
    }],
}
NOTHING = {"resources": 0, "activityTypes": 0, "statuses": 0, "plans": 0}


def sample() -> dict[str, Any]:
    return copy.deepcopy(SAMPLE)


def run(client, key, payload: Any) -> dict[str, Any]:
    answer = client.post(ROUTE, headers=key, json=payload)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("application/json")
    body = answer.json()
    assert set(body) == {"created", "updated", "unchanged", "removed", "skipped", "referenceData"}, body
    return body


def bookings(dv: DataverseAdmin) -> list[dict[str, Any]]:
    return sorted(dv.rows("bookableresourcebookings"), key=lambda b: b["starttime"])
