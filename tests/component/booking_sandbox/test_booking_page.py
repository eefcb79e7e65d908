"""The booking page over real HTTP: show, confirm, reschedule, cancel; escaping; unknown links."""

from __future__ import annotations

import re
import subprocess
import sys
from urllib.parse import quote

from tests.component.booking_sandbox.stage import session_body
from tests.support import ROOT, loopback
from tests.support.processes import free_port


def slots(html: str) -> list[str]:
    return re.findall(r'<input type="radio" name="slot" id="slot-\d+" value="([^"]+)"', html)


def test_page_shows_customer_slots_and_form(http, open_session):
    session_id = open_session()

    page = http.get("/book", params={"session": session_id})

    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert '<strong id="customer-name">Ana Diaz</strong>' in page.text
    offered = slots(page.text)
    assert len(offered) == 12
    assert all(s.endswith("Z") for s in offered)
    for element in ('id="booking-form"', 'id="subject"', 'id="location"', 'id="notes"', 'id="confirm"'):
        assert element in page.text


def test_confirm_books_then_page_offers_reschedule_and_cancel(http, sandbox, open_session):
    session_id = open_session()
    first_slot = slots(http.get("/book", params={"session": session_id}).text)[0]

    posted = http.post(
        "/book/confirm",
        data={"session": session_id, "slot": first_slot, "subject": "Mortgage", "location": "Downtown", "notes": "n"},
    )

    assert posted.status_code == 303
    assert posted.headers["location"] == f"/book?session={session_id}"
    [(apt_id, appointment)] = sandbox.appointments.items()
    assert re.fullmatch(r"apt_\d+", apt_id)
    assert appointment["start"] == first_slot
    assert appointment["subject"] == "Mortgage"
    assert sandbox.sessions[session_id]["appointmentId"] == apt_id
    booked = http.get(posted.headers["location"])
    assert '<h1 id="status">Booked</h1>' in booked.text
    assert f'<dd id="appointment-id">{apt_id}</dd>' in booked.text
    assert 'id="reschedule"' in booked.text and 'id="cancel"' in booked.text

    later = slots(booked.text)[3]
    assert http.post("/book/reschedule", data={"session": session_id, "slot": later}).status_code == 303
    assert sandbox.appointments[apt_id]["start"] == later

    assert http.post("/book/cancel", data={"session": session_id}).status_code == 303
    assert sandbox.appointments[apt_id]["status"] == "cancelled"
    after = http.get("/book", params={"session": session_id}).text
    assert 'id="status">Cancelled' in after
    assert [e["type"] for e in sandbox.events] == [
        "appointment.created",
        "appointment.updated",
        "appointment.cancelled",
    ]


def test_session_for_an_existing_appointment_reschedules_it(http, sandbox, open_session):
    session_id = open_session(appointmentId="apt_external_1")
    page = http.get("/book", params={"session": session_id}).text
    assert "Reschedule your appointment" in page

    http.post("/book/confirm", data={"session": session_id, "slot": slots(page)[1]})

    assert list(sandbox.appointments) == ["apt_external_1"]
    assert [e["type"] for e in sandbox.events] == ["appointment.updated"]


def test_customer_data_is_escaped(http, open_session):
    session_id = open_session(
        customer={"firstName": "<script>alert(1)</script>", "lastName": '"O\'Neil&', "email": None, "phone": None}
    )

    page = http.get("/book", params={"session": session_id}).text

    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &quot;O&#x27;Neil&amp;" in page


def test_hostile_session_id_is_escaped_in_page_and_redirect(http, sandbox, open_session):
    hostile = '/../x"><img src=x>'
    sandbox.next_session_ids.append(hostile)
    session_id = open_session()
    assert session_id == hostile

    page = http.get("/book", params={"session": hostile})
    assert page.status_code == 200
    assert '<img src=x>' not in page.text
    confirmed = http.post("/book/confirm", data={"session": hostile, "slot": slots(page.text)[0]})
    assert confirmed.headers["location"] == "/book?session=" + quote(hostile, safe="")


def test_unknown_or_expired_session_gets_a_404_page(http, sandbox, open_session):
    assert http.get("/book", params={"session": "sess_nope"}).status_code == 404
    missing = http.get("/book")
    assert missing.status_code == 404
    assert 'id="error"' in missing.text

    session_id = open_session()
    sandbox.expire(session_id)
    assert http.get("/book", params={"session": session_id}).status_code == 404
    assert http.post("/book/confirm", data={"session": session_id, "slot": "2030-01-01T09:00:00Z"}).status_code == 404
    assert sandbox.appointments == {}


def test_bad_form_input_gets_400_and_books_nothing(http, sandbox, open_session):
    session_id = open_session()

    no_slot = http.post("/book/confirm", data={"session": session_id})
    naive = http.post("/book/confirm", data={"session": session_id, "slot": "2030-01-01T09:00:00"})
    long_subject = http.post(
        "/book/confirm", data={"session": session_id, "slot": "2030-01-01T09:00:00Z", "subject": "x" * 201}
    )
    huge = http.post("/book/confirm", data={"session": session_id, "notes": "x" * 20000})

    assert [r.status_code for r in (no_slot, naive, long_subject, huge)] == [400, 400, 400, 413]
    assert 'id="error-detail"' in naive.text
    assert sandbox.appointments == {} and sandbox.events == []


def test_reschedule_or_cancel_without_a_booking_is_404(http, open_session):
    session_id = open_session()

    assert http.post("/book/cancel", data={"session": session_id}).status_code == 404
    assert http.post("/book/reschedule", data={"session": session_id, "slot": "2030-01-01T09:00:00Z"}).status_code == 404


def test_cli_serves_on_the_given_port():
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "emulators.booking", "--port", str(port), "--api-key", "cli-key"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        assert f"http://127.0.0.1:{port}" in process.stdout.readline()
        answer = loopback.post(
            f"http://127.0.0.1:{port}/api/sessions",
            json=session_body(),
            headers={"Authorization": "Bearer cli-key", "Idempotency-Key": "cli"},
        )
        assert answer.status_code == 201
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_root_names_the_endpoints(http):
    index = http.get("/")

    assert index.status_code == 200
    assert "/api/sessions" in index.text
