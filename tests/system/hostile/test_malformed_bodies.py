"""Every malformed body on every POST route: a 4xx problem answer, and Dataverse untouched.

Each request is authenticated (function key, or a valid signature for the webhook), so what
is tested is the parser behind the door, not the door.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.system.hostile.answers import assert_contract_answer, assert_rejected
from tests.system.hostile.bodies import MALFORMED, nested_arrays
from tests.system.hostile.routes import BOOKING_SESSIONS, POST_ROUTES, SCHEDULE_IMPORT, WEBHOOK
from tests.system.hostile.stage import AGENT_EMAIL, LEAD_ID

CASES = [
    pytest.param(name, route, id=f"{route.rsplit('/', 1)[-1]}-{name}")
    for route in POST_ROUTES
    for name in MALFORMED
]
VALID = {
    BOOKING_SESSIONS: {"regarding": {"entity": "lead", "id": LEAD_ID}},
    SCHEDULE_IMPORT: {"source": "nice-iex", "agents": [{"agentId": "iex-1", "name": "Alex", "email": AGENT_EMAIL, "segments": []}]},
    WEBHOOK: {"type": "appointment.created", "data": {
        "appointmentId": "apt_1", "status": "scheduled", "updatedAt": "2026-01-15T14:03:20Z",
        "start": "2026-01-20T15:00:00Z", "end": "2026-01-20T15:30:00Z", "customer": {"email": "ana@example.com"}}},
}


@pytest.mark.parametrize(("name", "route"), CASES)
def test_malformed_body_is_refused_as_a_problem(send: Any, dv: Any, name: str, route: str) -> None:
    answer = send(route, MALFORMED[name])
    assert_contract_answer(answer)
    assert answer.status_code in (400, 413), answer.text[:300]
    assert dv.count() == 0


@pytest.mark.parametrize("route", POST_ROUTES)
@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "", "application/xml"]
)
def test_a_valid_body_under_another_content_type_is_answered_by_the_contract(
    send: Any, route: str, content_type: str
) -> None:
    """The body decides, not the label: a JSON body is read as JSON whatever Content-Type says."""
    answer = send(route, json.dumps(VALID[route]).encode(), content_type=content_type)
    assert_contract_answer(answer)
    assert answer.status_code < 400, answer.text[:300]


@pytest.mark.parametrize(("route", "limit"), [(BOOKING_SESSIONS, 16 * 1024), (WEBHOOK, 256 * 1024), (SCHEDULE_IMPORT, 20 * 1024 * 1024)])
def test_a_body_over_the_route_limit_is_413(send: Any, dv: Any, route: str, limit: int) -> None:
    padded = json.dumps({**VALID[route], "padding": ""}).encode()
    body = padded[:-2] + b"x" * (limit + 1 - len(padded)) + padded[-2:]
    assert len(body) == limit + 1
    assert_rejected(send(route, body), 413)
    assert dv.count() == 0


@pytest.mark.parametrize("route", POST_ROUTES)
def test_a_body_at_the_route_limit_is_read(send: Any, route: str) -> None:
    """The control for the 413 test: one byte less is parsed (and found valid, the padding being ignored)."""
    limit = {BOOKING_SESSIONS: 16 * 1024, WEBHOOK: 256 * 1024, SCHEDULE_IMPORT: 20 * 1024 * 1024}[route]
    padded = json.dumps({**VALID[route], "padding": ""}).encode()
    body = padded[:-2] + b"x" * (limit - len(padded)) + padded[-2:]
    answer = send(route, body)
    assert_contract_answer(answer)
    assert answer.status_code < 400, answer.text[:300]


def test_nested_bodies_reach_each_parser(send: Any) -> None:
    """Guard for the suite itself: the nesting bodies do reach each parser (no 401/413 in front)."""
    for route in POST_ROUTES:
        assert send(route, nested_arrays(100)).status_code == 400
