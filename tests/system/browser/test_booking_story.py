"""The demo story in a real browser: redirect -> booking page -> signed webhook -> timeline.

Everything a person would click goes through Chromium; the app, the emulator and the sandbox
talk over real HTTP on loopback. Expected values come from the seeded rows and from what the
booking page offered, never from constants.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from tests.system.browser.pages import BookingPage, TimelinePage
from tests.system.browser.stack import DemoStack

pytestmark = pytest.mark.browser

DELIVERY_TIMEOUT = 10.0


def _utc(iso: str) -> datetime:
    return datetime.fromisoformat(iso).astimezone(timezone.utc)


def _seeded(stack: DemoStack, entity_set: str, email: str) -> dict[str, Any]:
    rows = [r for r in stack.dataverse.rows(entity_set) if r.get("emailaddress1") == email]
    assert len(rows) == 1, f"demo data should hold one {entity_set} row for {email}"
    return rows[0]


def _open_booking_page(stack: DemoStack, page: Any, entity: str, record_id: str) -> BookingPage:
    response = page.goto(stack.redirect_url(entity, record_id))
    assert response is not None and response.status == 200
    redirect = response.request.redirected_from
    assert redirect is not None and redirect.url.startswith(f"{stack.app.url}/api/booking-sessions/redirect?")
    assert redirect.response().status == 302
    assert page.url.startswith(f"{stack.booking.url}/book?session=")
    return BookingPage(page)


def _delivered(stack: DemoStack) -> list[dict[str, Any]]:
    assert stack.booking.wait_for_deliveries(DELIVERY_TIMEOUT), "webhooks still pending"
    return stack.booking.deliveries


@pytest.mark.parametrize(
    ("entity", "entity_set", "email"),
    [("lead", "leads", "ben@example.com"), ("contact", "contacts", "carla@example.com")],
)
def test_book_reschedule_and_cancel_show_on_the_timeline(
    stack: DemoStack, page: Any, timeline: Callable[[str, str], TimelinePage],
    entity: str, entity_set: str, email: str,
) -> None:
    record = _seeded(stack, entity_set, email)
    record_id = record[f"{entity}id"]
    record_timeline = timeline(entity_set, record_id)
    assert record_timeline.entries() == [], "the demo record starts with an empty timeline"

    booking = _open_booking_page(stack, page, entity, record_id)
    # The name comes from Dataverse (the app never trusts the caller for it), so also its escaping.
    assert booking.customer_name() == f"{record['firstname']} {record['lastname']}"
    booking_url = page.url
    slots = booking.slots()
    assert len(slots) >= 8

    appointment_id = booking.book(1, subject="Mortgage consultation", location="Downtown branch", notes="Bring ID")
    assert [d["answer"]["result"] for d in _delivered(stack)] == ["created"]
    [entry] = record_timeline.entries()
    assert entry.subject == "Mortgage consultation"
    assert entry.location == "Downtown branch"
    assert entry.state == "Open"
    assert entry.start == _utc(slots[1])
    assert entry.end == _utc(slots[1]) + timedelta(minutes=30)

    page.goto(booking_url)
    BookingPage(page).reschedule(6)
    assert BookingPage(page).shown_start() == slots[6]
    assert [d["answer"]["result"] for d in _delivered(stack)] == ["created", "updated"]
    [entry] = record_timeline.entries()
    assert (entry.start, entry.end, entry.state) == (_utc(slots[6]), _utc(slots[6]) + timedelta(minutes=30), "Open")

    page.goto(booking_url)
    BookingPage(page).cancel()
    assert page.locator("#appointment-id").inner_text() == appointment_id
    assert [d["status"] for d in _delivered(stack)] == [200, 200, 200]
    [entry] = record_timeline.entries()
    assert (entry.subject, entry.start, entry.state) == ("Mortgage consultation", _utc(slots[6]), "Canceled")

    [row] = [r for r in stack.dataverse.rows("appointments") if r.get("_regardingobjectid_value") == record_id]
    assert (row["statecode"], row["statuscode"]) == (2, 4)
    assert appointment_id in row["description"]


@pytest.mark.parametrize(
    ("record_id", "code", "status"),
    [
        ("valid", "not-the-key", 401),
        ("unknown", None, 404),
        ("x' or 1 eq 1", None, 400),
    ],
    ids=["wrong-key", "unknown-lead", "not-a-guid"],
)
def test_a_refused_redirect_shows_a_problem_and_opens_no_session(
    stack: DemoStack, page: Any, record_id: str, code: str | None, status: int,
) -> None:
    lead_id = _seeded(stack, "leads", "ana@example.com")["leadid"]
    target = {"valid": lead_id, "unknown": "00000000-0000-4000-8000-000000000000"}.get(record_id, record_id)
    response = page.goto(stack.redirect_url("lead", target, code=code))
    assert response is not None and response.status == status
    assert response.request.redirected_from is None
    assert (response.header_value("content-type") or "").startswith("application/problem+json")
    assert page.url.startswith(stack.app.url)
    assert '"status"' in page.content() and "Traceback" not in page.content()
    assert stack.booking.sessions == {}


def test_a_webhook_signed_with_another_secret_changes_nothing_until_redelivered(
    stack: DemoStack, page: Any, timeline: Callable[[str, str], TimelinePage],
) -> None:
    """The signature is the webhook's only authentication; a refused event is not lost."""
    lead_id = _seeded(stack, "leads", "ben@example.com")["leadid"]
    lead_timeline = timeline("leads", lead_id)
    booking = _open_booking_page(stack, page, "lead", lead_id)
    app_secret = stack.booking.webhook_secret
    dataverse_requests = stack.dataverse.count()
    stack.booking.webhook_secret = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
    try:
        booking.book(0, subject="Signed elsewhere", location="", notes="")
        refused = _delivered(stack)
    finally:
        stack.booking.webhook_secret = app_secret
    assert refused and {d["status"] for d in refused} == {401}
    assert stack.dataverse.count() == dataverse_requests, "a refused webhook must not reach Dataverse"
    assert lead_timeline.entries() == []

    stack.booking.redeliver(refused[0]["webhook_id"])
    assert _delivered(stack)[-1]["status"] == 200
    assert [e.subject for e in lead_timeline.entries()] == ["Signed elsewhere"]
