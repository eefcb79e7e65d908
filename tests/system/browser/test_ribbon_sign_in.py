"""The ribbon button in entra mode, in a real browser: MSAL.js signs the Dynamics user in.

A lead form served over https (dynamics_form.py) loads the committed web resources unmodified:
new_bookingbutton.js, which loads new_msalbrowser.js (the pinned @azure/msal-browser) on the
first click, and new_bookingauth.html with the redirect bridge. msal-browser signs the user in
against the Entra ID stand-in over https, the button calls the app (``SESSION_AUTH=entra``)
with the user's token, and the app reads the record as that user from the Dataverse emulator,
which applies record-level security. Chromium trusts exactly the two throw-away CAs (SPKI pins).

- The lead's owner signed in to Dynamics first, so the button signs in silently (a hidden
  frame, ``prompt=none`` with the login hint); the booking page opens, the test books, the
  sandbox's signed webhook reaches the app, and the lead's timeline shows the appointment.
- A user who may not read the lead has no session yet, so msal opens the sign-in popup; after
  signing in the form shows the no-access message and no booking session is ever asked for.
- The app's 503 names the wait in Retry-After, which the form's script cannot read across
  origins; the problem document's ``retryAfter`` still tells the user when to retry.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.support.booking import session_requests
from tests.support.polling import wait_until
from tests.system.browser.chromium import chromium_context
from tests.system.browser.pages import BookingPage, DynamicsFormPage, TimelinePage, choose_user
from tests.system.browser.signed_in_stack import SignedInStack, start_signed_in_stack

pytestmark = pytest.mark.browser

DELIVERY_TIMEOUT = 10.0
NO_ACCESS = "You do not have access to this record, so it cannot be booked."  # docs/ribbon-button.md
SESSION_ROUTE = "/api/booking-sessions"
ON_BEHALF_OF = "urn:ietf:params:oauth:grant-type:jwt-bearer"


@pytest.fixture(scope="module")
def signed_in_stack(chromium: Path) -> Iterator[SignedInStack]:
    stack = start_signed_in_stack()
    try:
        yield stack
    finally:
        stack.stop()


@pytest.fixture(scope="module")
def off_loopback() -> list[str]:
    """Requests of any window or frame that left 127.0.0.1 (msal's instance discovery would)."""
    return []


@pytest.fixture(scope="module")
def pinned_browser(playwright_session: Any, chromium: Path, signed_in_stack: SignedInStack, off_loopback: list[str],
                   tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Chromium that accepts the certificates of the stand-in's and the form's CAs, and no others."""
    pins = ",".join(signed_in_stack.browser_pins())
    with chromium_context(playwright_session, chromium, tmp_path_factory.mktemp("chromium-pinned"),
                          [f"--ignore-certificate-errors-spki-list={pins}"]) as context:
        context.set_default_timeout(10_000)
        context.on("request", lambda r: off_loopback.append(r.url)
                   if urlsplit(r.url).scheme in ("http", "https") and urlsplit(r.url).hostname != "127.0.0.1" else None)
        yield context


@pytest.fixture
def entra(signed_in_stack: SignedInStack) -> SignedInStack:
    signed_in_stack.reset()
    return signed_in_stack


@pytest.fixture
def form(pinned_browser: Any, failure_screenshots: list[Any], off_loopback: list[str]) -> Iterator[DynamicsFormPage]:
    """A new tab with no sign-in session: the last test's windows and cookies gone (MSAL's
    sessionStorage is per tab). Its windows stay open after the test for a failure screenshot.
    Nothing the browser asked for may have left loopback."""
    for window in pinned_browser.pages:
        window.close()
    pinned_browser.clear_cookies()
    off_loopback.clear()
    form_page = DynamicsFormPage(pinned_browser.new_page(), SESSION_ROUTE)
    yield form_page
    failure_screenshots.extend([form_page.page, *form_page.windows])
    assert off_loopback == [], "requests that left loopback"


def spa_sign_ins(stack: SignedInStack) -> list[tuple[str, int, str | None]]:
    """The button's requests to the stand-in: endpoint, status, and prompt or grant type."""
    return [(r.endpoint, r.status, r.extra.get("prompt") if r.endpoint == "authorize" else r.grant_type)
            for r in stack.identity.token_requests if r.client_id == stack.spa_client_id]


def test_the_owner_signs_in_silently_books_and_the_timeline_shows_it(entra: SignedInStack, form: DynamicsFormPage) -> None:
    owner = entra.add_person("owner")
    lead_id = entra.add_lead(owner, "Ana", "Diaz")
    entra.open_form_as(owner, "lead", lead_id)
    timeline = TimelinePage(form.page.context.new_page(), entra.timeline_url("leads", lead_id))
    assert timeline.entries() == []

    form.sign_in_at_stand_in(entra.dynamics_sign_in_url(), owner.oid, back_to=entra.form.form_url)
    form.click_book_appointment()
    assert form.outcome() == "opened", form.notification()
    booking_window = form.window(0)
    booking_window.wait_for_url(re.compile(re.escape(f"{entra.booking.url}/book?session=") + ".+"))
    # Silent: a hidden frame asked with prompt=none, then the page redeemed the code (CORS).
    assert spa_sign_ins(entra) == [("authorize", 302, "none"), ("token", 200, "authorization_code")]
    assert form.session_calls == ["POST Bearer"]
    # The app read the lead as the owner: their token traded on-behalf-of for Dataverse.
    assert entra.identity.count(endpoint="token", grant_type=ON_BEHALF_OF, status=200) == 1
    assert entra.dataverse.count(method="GET", path="leads", caller=owner.systemuser_id) >= 1

    booking = BookingPage(booking_window)
    assert booking.customer_name() == "Ana Diaz"  # read from Dataverse as the owner
    booking.book(2, subject="Mortgage consultation", location="Downtown branch", notes="")
    assert entra.booking.wait_for_deliveries(DELIVERY_TIMEOUT), "webhook still pending"
    [delivery] = entra.booking.deliveries
    assert (delivery["status"], delivery["answer"]["result"]) == (200, "created")
    [entry] = wait_until(timeline.entries, DELIVERY_TIMEOUT, interval=0.1, what="the appointment on the timeline")
    assert (entry.subject, entry.location, entry.state) == ("Mortgage consultation", "Downtown branch", "Open")
    [appointment] = entra.dataverse.rows("appointments")
    assert appointment["_regardingobjectid_value"] == lead_id
    assert len(session_requests(entra.booking)) == 1


def test_a_user_without_access_signs_in_in_a_popup_and_sees_the_no_access_message(
    entra: SignedInStack, form: DynamicsFormPage,
) -> None:
    owner, outsider = entra.add_person("owner"), entra.add_person("outsider")
    lead_id = entra.add_lead(owner, "Bo", "Li")
    entra.open_form_as(outsider, "lead", lead_id)

    form.page.goto(entra.form.form_url)
    form.click_book_appointment()
    choose_user(form.window(0), outsider.oid)  # no session yet: msal's sign-in popup
    assert form.outcome() == "refused"
    assert form.notification().startswith(NO_ACCESS)

    assert spa_sign_ins(entra) == [("authorize", 302, "none"), ("authorize", 200, None),
                                   ("authorize", 302, None), ("token", 200, "authorization_code")]
    assert form.session_calls == ["POST Bearer"]
    assert entra.dataverse.count(method="GET", path="leads", caller=outsider.systemuser_id) >= 1
    assert session_requests(entra.booking) == []
    assert entra.booking.sessions == {}
    assert entra.dataverse.rows("appointments") == []
    assert len(form.windows) == 1, "no booking window"


def test_a_busy_booking_system_tells_the_user_when_to_retry_across_origins(
    entra: SignedInStack, form: DynamicsFormPage,
) -> None:
    """The app's 503 carries Retry-After, which a page of another origin cannot read (CORS does not
    expose it); the problem document's retryAfter member gets the wait to the user all the same."""
    owner = entra.add_person("owner")
    lead_id = entra.add_lead(owner, "Cy", "Ng")
    entra.open_form_as(owner, "lead", lead_id)
    entra.booking.fail_next(1, "unavailable503", retry_after="40")  # over the app's retry budget: no retry

    form.sign_in_at_stand_in(entra.dynamics_sign_in_url(), owner.oid, back_to=entra.form.form_url)
    form.click_book_appointment()
    assert form.outcome() == "refused"
    assert form.notification() == "The booking service is busy or unavailable. Try again in 40 seconds."
    [(status, headers)] = form.session_answers
    # The header was there, but CORS (the devhost's, as Core Tools' and App Service's) does not expose it.
    assert (status, headers.get("retry-after")) == (503, "40")
    assert "access-control-expose-headers" not in headers
    assert len(session_requests(entra.booking)) == 1
    assert form.windows == []
