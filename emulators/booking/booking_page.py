"""The customer's booking page: ``GET /book?session=...`` and its three form posts."""

from __future__ import annotations

from urllib.parse import parse_qs, quote

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from . import pages
from .bookings import Bookings, InvalidBooking, UnknownSession
from .slots import SlotPlan
from .state import Session, State

MAX_FORM_BYTES = 16 * 1024


class BookingPage:
    def __init__(self, state: State, bookings: Bookings, slots: SlotPlan) -> None:
        self._state = state
        self._bookings = bookings
        self._slots = slots

    async def show(self, request: Request) -> Response:
        session = self._session(request.query_params.get("session", ""))
        if session is None:
            return HTMLResponse(pages.not_found(), status_code=404)
        with self._state.lock:
            appointment = self._state.appointments.get(session.appointment_id or "")
            if appointment is not None and appointment.status != "cancelled":
                return HTMLResponse(pages.booked(session, appointment, self._slots.offered()))
            banner = pages.cancelled_banner(appointment) if appointment is not None else ""
            return HTMLResponse(pages.booking_form(session, self._slots.offered(), banner=banner))

    async def confirm(self, request: Request) -> Response:
        if _too_large(request):
            return HTMLResponse(pages.bad_request("The form is too large.", None), status_code=413)
        form, session = await self._form(request)
        if session is None:
            return HTMLResponse(pages.not_found(), status_code=404)
        if "slot" not in form:
            return HTMLResponse(pages.bad_request("Choose a time.", session), status_code=400)
        try:
            self._bookings.book(
                session.id,
                start=form["slot"],
                subject=form.get("subject", "").strip() or None,
                location=form.get("location", "").strip(),
                notes=form.get("notes", ""),
            )
        except InvalidBooking as exc:
            return HTMLResponse(pages.bad_request(str(exc), session), status_code=400)
        except UnknownSession:
            return HTMLResponse(pages.not_found(), status_code=404)
        return _back_to(session)

    async def reschedule(self, request: Request) -> Response:
        form, session = await self._form(request)
        appointment_id = session.appointment_id if session else None
        if session is None or appointment_id is None:
            return HTMLResponse(pages.not_found(), status_code=404)
        if "slot" not in form:
            return HTMLResponse(pages.bad_request("Choose a time.", session), status_code=400)
        try:
            self._bookings.reschedule(appointment_id, form["slot"])
        except InvalidBooking as exc:
            return HTMLResponse(pages.bad_request(str(exc), session), status_code=400)
        except LookupError:
            return HTMLResponse(pages.not_found(), status_code=404)
        return _back_to(session)

    async def cancel(self, request: Request) -> Response:
        _, session = await self._form(request)
        appointment_id = session.appointment_id if session else None
        if session is None or appointment_id is None:
            return HTMLResponse(pages.not_found(), status_code=404)
        try:
            self._bookings.cancel(appointment_id)
        except LookupError:
            return HTMLResponse(pages.not_found(), status_code=404)
        return _back_to(session)

    def _session(self, session_id: str) -> Session | None:
        try:
            return self._bookings.live_session(session_id)
        except UnknownSession:
            return None

    async def _form(self, request: Request) -> tuple[dict[str, str], Session | None]:
        raw = await request.body()
        if len(raw) > MAX_FORM_BYTES:
            return {}, None
        try:
            fields = parse_qs(raw.decode("utf-8"), keep_blank_values=True)
        except UnicodeDecodeError:
            return {}, None
        form = {name: values[0] for name, values in fields.items()}
        return form, self._session(form.get("session", ""))


def _too_large(request: Request) -> bool:
    try:
        return int(request.headers.get("content-length", "0")) > MAX_FORM_BYTES
    except ValueError:
        return True


def _back_to(session: Session) -> Response:
    return RedirectResponse(f"/book?session={quote(session.id, safe='')}", status_code=303)
