"""POST /api/sessions over real HTTP: auth, idempotency, validation and the planned failure modes."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import httpx
import pytest

from .conftest import API_KEY, LEAD_ID, session_body

AUTH = {"Authorization": f"Bearer {API_KEY}"}


def post(http: httpx.Client, body: object, key: str | None = "k1", auth: dict[str, str] = AUTH) -> httpx.Response:
    headers = dict(auth)
    if key is not None:
        headers["Idempotency-Key"] = key
    return http.post("/api/sessions", json=body, headers=headers)


def test_creates_session_with_expiry_and_keeps_what_was_sent(http, sandbox):
    answer = post(http, session_body())

    assert answer.status_code == 201
    body = answer.json()
    assert body["sessionId"].startswith("sess_")
    expires = datetime.fromisoformat(body["expiresAt"].replace("Z", "+00:00"))
    assert body["expiresAt"].endswith("Z")
    assert timedelta(minutes=29) < expires - datetime.now(timezone.utc) <= timedelta(minutes=30)
    stored = sandbox.sessions[body["sessionId"]]
    assert stored["crmReference"] == {"entity": "lead", "id": LEAD_ID}
    assert stored["customer"]["email"] == "ana@example.com"
    assert stored["appointmentId"] is None
    logged = [r for r in sandbox.requests if r["path"] == "/api/sessions"]
    assert len(logged) == 1
    assert logged[0]["headers"]["idempotency-key"] == "k1"
    assert logged[0]["json"] == session_body()


@pytest.mark.parametrize("auth", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": API_KEY}])
def test_api_key_is_required_when_configured(http, sandbox, auth):
    answer = post(http, session_body(), auth=auth)

    assert answer.status_code == 401
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert answer.headers["www-authenticate"] == "Bearer"
    assert sandbox.sessions == {}


def test_no_api_key_configured_accepts_any_caller(http, sandbox):
    sandbox.api_key = None

    assert post(http, session_body(), auth={}).status_code == 201


def test_idempotency_key_is_required(http, sandbox):
    answer = post(http, session_body(), key=None)

    assert answer.status_code == 400
    assert "Idempotency-Key" in answer.json()["title"]
    assert sandbox.sessions == {}


def test_same_key_and_body_returns_the_same_session(http, sandbox):
    first = post(http, session_body(), key="same")
    again = post(http, session_body(), key="same")
    other = post(http, session_body(), key="other")

    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert other.json()["sessionId"] != first.json()["sessionId"]
    assert len(sandbox.sessions) == 2


def test_same_key_with_another_body_is_refused(http, sandbox):
    post(http, session_body(), key="same")
    answer = post(http, session_body(appointmentId="apt_9"), key="same")

    assert answer.status_code == 422
    assert len(sandbox.sessions) == 1


@pytest.mark.parametrize(
    ("body", "path"),
    [
        (session_body(crmReference={"entity": "account", "id": LEAD_ID}), "crmReference.entity"),
        (session_body(crmReference={"entity": "lead", "id": "not-a-guid"}), "crmReference.id"),
        ({"customer": {}}, "crmReference"),
        (session_body(customer="Ana"), "customer"),
        (session_body(appointmentId=""), "appointmentId"),
        ([1, 2], "$"),
    ],
)
def test_invalid_bodies_get_400_with_the_field(http, sandbox, body, path):
    answer = post(http, body)

    assert answer.status_code == 400
    assert path in [e["path"] for e in answer.json()["errors"]]
    assert sandbox.sessions == {}


def test_body_that_is_not_json_gets_400(http, sandbox):
    answer = http.post("/api/sessions", content=b"{nope", headers={**AUTH, "Idempotency-Key": "x"})

    assert answer.status_code == 400
    assert answer.json()["title"] == "Body is not JSON"


def test_reschedule_session_keeps_the_appointment_id(http, sandbox):
    answer = post(http, session_body(appointmentId="apt_77"))

    assert sandbox.sessions[answer.json()["sessionId"]]["appointmentId"] == "apt_77"


def test_next_session_ids_are_handed_out_verbatim(http, sandbox):
    sandbox.next_session_ids.append("/../x?y=<z>")

    first = post(http, session_body(), key="a")
    second = post(http, session_body(), key="b")

    assert first.json()["sessionId"] == "/../x?y=<z>"
    assert second.json()["sessionId"].startswith("sess_")


@pytest.mark.parametrize(
    ("mode", "status", "content_type", "retry_after"),
    [
        ("error500", 500, "text/plain", None),
        ("reject400", 400, "application/problem+json", None),
        ("garbage", 200, "text/html", None),
        ("throttle", 429, "application/problem+json", "1"),
        ("unavailable503", 503, "application/problem+json", "1"),
    ],
)
def test_failure_modes_answer_then_recover(http, sandbox, mode, status, content_type, retry_after):
    sandbox.fail_next(2, mode)

    answers = [post(http, session_body(), key=f"k{n}") for n in range(3)]

    assert [a.status_code for a in answers[:2]] == [status, status]
    assert answers[0].headers["content-type"].startswith(content_type)
    assert answers[0].headers.get("retry-after") == retry_after
    assert answers[2].status_code == 201
    assert len(sandbox.sessions) == 1


def test_hang_outlasts_the_client_timeout_and_ends_on_reset(sandbox):
    sandbox.fail_next(1, "hang")
    with httpx.Client(base_url=sandbox.url, timeout=0.3) as client:
        with pytest.raises(httpx.ReadTimeout):
            post(client, session_body())
        sandbox.reset()
        sandbox.api_key = API_KEY
        assert post(client, session_body(), key="after").status_code == 201


def test_unknown_failure_mode_is_refused(sandbox):
    with pytest.raises(ValueError, match="unknown failure mode"):
        sandbox.fail_next(1, "explode")


def test_failures_can_be_planned_over_http(http, sandbox):
    assert http.post("/_sandbox/fail-next", json={"n": 1, "mode": "throttle"}).status_code == 200
    assert http.post("/_sandbox/fail-next", json={"n": 1, "mode": "explode"}).status_code == 400

    assert post(http, session_body()).status_code == 429
    assert post(http, session_body()).status_code == 201


def test_a_planned_retry_after_and_expiry_are_answered_verbatim_also_over_http(http, sandbox):
    assert http.post("/_sandbox/fail-next", json={"mode": "throttle", "retryAfter": "9" * 40}).status_code == 200
    assert http.post("/_sandbox/next-expires-at", json={"values": ["9999-12-31T23:59:59-05:00"]}).status_code == 200
    sandbox.fail_next(1, "unavailable503", retry_after="\u00b2")

    throttled, unavailable, created, normal = (post(http, session_body(), key=f"k{n}") for n in range(4))

    assert (throttled.status_code, throttled.headers["retry-after"]) == (429, "9" * 40)
    assert (unavailable.status_code, unavailable.headers.get_list("retry-after")) == (503, ["\u00b2"])
    assert created.json()["expiresAt"] == "9999-12-31T23:59:59-05:00"
    assert normal.json()["expiresAt"].endswith("Z")
