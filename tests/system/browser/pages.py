"""What a person sees: the sandbox booking page and the emulator's timeline, read through the DOM.

Selectors are the stable ids documented in docs/booking-sandbox.md and the emulator's pages.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from playwright.sync_api import Page


@dataclass(frozen=True)
class TimelineEntry:
    subject: str
    start: datetime | None
    end: datetime | None
    state: str
    location: str


def _instant(text: str) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


class BookingPage:
    """The customer's side: choose a slot, confirm, reschedule, cancel."""

    def __init__(self, page: Page) -> None:
        self.page = page

    def customer_name(self) -> str:
        return self.page.locator("#customer-name").inner_text()

    def slots(self) -> list[str]:
        """The offered slot starts (ISO-8601 with the sandbox's offset), in page order."""
        return [slot.get_attribute("value") or "" for slot in self.page.locator("input[name=slot]").all()]

    def book(self, slot: int, subject: str, location: str, notes: str) -> str:
        """Fill the form and confirm; the booking system's appointment id shown afterwards."""
        self.page.locator(f"#slot-{slot}").check()
        self.page.locator("#subject").fill(subject)
        self.page.locator("#location").fill(location)
        self.page.locator("#notes").fill(notes)
        self._submit("#confirm")
        self._expect_status("Booked")
        return self.page.locator("#appointment-id").inner_text()

    def reschedule(self, slot: int) -> None:
        self.page.locator(f"#reschedule-form #slot-{slot}").check()
        self._submit("#reschedule")
        self._expect_status("Booked")

    def cancel(self) -> None:
        self._submit("#cancel")
        self._expect_status("Cancelled")

    def shown_start(self) -> str:
        return self.page.locator("#appointment-start").inner_text()

    def _submit(self, button: str) -> None:
        with self.page.expect_navigation():
            self.page.locator(button).click()

    def _expect_status(self, prefix: str) -> None:
        from playwright.sync_api import expect

        expect(self.page.locator("#status")).to_have_text(re.compile("^" + re.escape(prefix)))


class TimelinePage:
    """The emulator's rendering of a record's timeline (appointments regarding it)."""

    def __init__(self, page: Page, url: str) -> None:
        self.page = page
        self.url = url

    def entries(self) -> list[TimelineEntry]:
        response = self.page.goto(self.url)
        assert response is not None and response.status == 200, f"timeline {self.url} answered {response and response.status}"
        entries = []
        for row in self.page.locator("table tr:has(td)").all():
            cells = [cell.inner_text().strip() for cell in row.locator("td").all()]
            if len(cells) != 5:
                continue  # the "no appointments" placeholder
            subject, start, end, state, location = cells
            entries.append(TimelineEntry(subject, _instant(start), _instant(end), state, location))
        return entries


class DynamicsFormPage:
    """The Dynamics form stand-in (dynamics_form.py): the user's side of the ribbon button.

    Remembers the windows the form opens (the booking page, msal's sign-in popup), the calls
    the page makes to the app's session route and the answers' raw headers (what the network
    carried, whatever CORS lets the page's script read).
    """

    def __init__(self, page: Page, session_route: str) -> None:
        self.page = page
        self.windows: list[Page] = []
        self.session_calls: list[str] = []  # "POST Bearer": method and authorization scheme
        self.session_answers: list[tuple[int, dict[str, str]]] = []
        page.on("popup", lambda window: self.windows.append(window))
        page.on("request", lambda r: self.session_calls.append(_method_and_scheme(r))
                if r.url.endswith(session_route) else None)
        page.on("response", lambda r: self.session_answers.append((r.status, r.headers))
                if r.url.endswith(session_route) and r.request.method == "POST" else None)

    def sign_in_at_stand_in(self, sign_in_url: str, user_oid: str, back_to: str) -> None:
        """Dynamics' own sign-in: the stand-in's page lists the users; one click, back to the form."""
        self.page.goto(sign_in_url)
        choose_user(self.page, user_oid)
        self.page.wait_for_url(re.compile(re.escape(back_to) + r"\?code="))

    def click_book_appointment(self) -> None:
        self.page.locator("#book").click()

    def outcome(self) -> str:
        """Once the button has finished: "opened" (a window with the booking page) or "refused"."""
        from playwright.sync_api import expect

        expect(self.page.locator("body")).not_to_have_attribute("data-outcome", "")
        return self.page.locator("body").get_attribute("data-outcome") or ""

    def notification(self) -> str:
        return self.page.locator("#notification").inner_text()

    def window(self, index: int) -> Page:
        """The ``index``-th window the form opened (waiting for it: Playwright delivers events only
        while one of its calls runs, so this waits through Playwright, never by sleeping)."""
        while len(self.windows) <= index:
            self.page.wait_for_event("popup")
        return self.windows[index]


def choose_user(page: Page, user_oid: str) -> None:
    """On the identity stand-in's sign-in page: the button of that user."""
    page.locator(f"button[name=user][value='{user_oid}']").click()


def _method_and_scheme(request: Any) -> str:
    scheme = (request.headers.get("authorization") or "(none)").split(" ", 1)[0]
    return f"{request.method} {scheme}"
