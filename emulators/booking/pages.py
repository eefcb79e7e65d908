"""HTML of the booking page. Every value is escaped; ids and names are stable for browser tests."""

from __future__ import annotations

from datetime import datetime
from html import escape
from urllib.parse import quote

from .state import Appointment, Session
from .timefmt import iso

STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem}"
    "fieldset{margin:1rem 0}label{display:block;margin:.3rem 0}"
    "input[type=text],textarea{width:100%}.note{color:#555}"
)


def _page(title: str, body: str) -> str:
    return (
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>{escape(title)}</title><style>{STYLE}</style></head><body>{body}"
        "<p class=\"note\" id=\"return-note\">When you are done, close this tab and return to Dynamics: "
        "the appointment appears on the record's timeline.</p></body></html>"
    )


def _name(session: Session) -> str:
    parts = [session.customer.get("firstName") or "", session.customer.get("lastName") or ""]
    return " ".join(p for p in parts if p) or "(no name)"


def _slot_choices(slots: list[datetime]) -> str:
    items = []
    for n, start in enumerate(slots):
        value = iso(start)
        label = start.strftime("%a %d %b %Y, %H:%M") + f" ({start.strftime('%z') or 'UTC'})"
        checked = " checked" if n == 0 else ""
        items.append(
            f'<label><input type="radio" name="slot" id="slot-{n}" value="{escape(value)}"{checked}> {escape(label)}</label>'
        )
    return "<fieldset id=\"slots\"><legend>Choose a time</legend>" + "".join(items) + "</fieldset>"


def _hidden_session(session: Session) -> str:
    return f'<input type="hidden" name="session" value="{escape(session.id)}">'


def booking_form(session: Session, slots: list[datetime], *, banner: str = "") -> str:
    heading = "Reschedule your appointment" if session.reschedules else "Book an appointment"
    body = (
        f"<h1 id=\"heading\">{escape(heading)}</h1>{banner}"
        f"<p>For <strong id=\"customer-name\">{escape(_name(session))}</strong></p>"
        f"<form id=\"booking-form\" method=\"post\" action=\"/book/confirm\">{_hidden_session(session)}"
        f"{_slot_choices(slots)}"
        "<label for=\"subject\">Subject</label><input type=\"text\" id=\"subject\" name=\"subject\" maxlength=\"200\" value=\"Appointment\">"
        "<label for=\"location\">Location</label><input type=\"text\" id=\"location\" name=\"location\" maxlength=\"200\">"
        "<label for=\"notes\">Notes</label><textarea id=\"notes\" name=\"notes\" maxlength=\"2000\"></textarea>"
        "<p><button type=\"submit\" id=\"confirm\">Confirm</button></p></form>"
    )
    return _page(heading, body)


def booked(session: Session, appointment: Appointment, slots: list[datetime]) -> str:
    body = (
        f"<h1 id=\"status\">Booked</h1>"
        f"<p>For <strong id=\"customer-name\">{escape(_name(session))}</strong></p>"
        "<dl>"
        f"<dt>Reference</dt><dd id=\"appointment-id\">{escape(appointment.id)}</dd>"
        f"<dt>Subject</dt><dd id=\"appointment-subject\">{escape(appointment.subject)}</dd>"
        f"<dt>Starts</dt><dd id=\"appointment-start\">{escape(appointment.start)}</dd>"
        f"<dt>Ends</dt><dd id=\"appointment-end\">{escape(appointment.end)}</dd>"
        f"<dt>Location</dt><dd id=\"appointment-location\">{escape(appointment.location)}</dd>"
        "</dl>"
        f"<form id=\"reschedule-form\" method=\"post\" action=\"/book/reschedule\">{_hidden_session(session)}"
        f"{_slot_choices(slots)}<button type=\"submit\" id=\"reschedule\">Reschedule</button></form>"
        f"<form id=\"cancel-form\" method=\"post\" action=\"/book/cancel\">{_hidden_session(session)}"
        "<button type=\"submit\" id=\"cancel\">Cancel appointment</button></form>"
    )
    return _page("Booked", body)


def cancelled_banner(appointment: Appointment) -> str:
    return f"<p id=\"status\">Cancelled: <span id=\"appointment-id\">{escape(appointment.id)}</span></p>"


def not_found() -> str:
    body = (
        "<h1 id=\"error\">Booking link not found</h1>"
        "<p>This booking link is unknown or has expired. Start again from Dynamics to get a new link.</p>"
    )
    return _page("Booking link not found", body)


def bad_request(message: str, session: Session | None) -> str:
    back = ""
    if session is not None:
        href = "/book?session=" + quote(session.id, safe="")
        back = f'<p><a id="back" href="{escape(href)}">Back</a></p>'
    return _page("Cannot book", f"<h1 id=\"error\">Cannot book</h1><p id=\"error-detail\">{escape(message)}</p>{back}")
