"""docs/spec.md#21-post-apibooking-sessions / #22-get-apibooking-sessionsredirect end to end: handler -> Dataverse emulator -> booking sandbox, over loopback HTTP."""

from __future__ import annotations

import logging
import uuid
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import pytest

from tests.support.booking import SANDBOX_API_KEY, session_requests
from tests.support.handlers import answer, booked, get_redirect, post_session

ANA = {"firstname": "Ana", "lastname": "Diaz", "emailaddress1": "ana.diaz@example.com", "telephone1": "+15555550100"}


@pytest.fixture
def lead_id(dataverse: Any) -> str:
    return dataverse.insert("leads", {**ANA, "subject": "Mortgage"})


def regarding(entity: str, row_id: str) -> dict[str, Any]:
    return {"regarding": {"entity": entity, "id": row_id}}


async def test_lead_gets_a_session_with_its_dataverse_details(app_root, booking_env, sandbox, lead_id) -> None:
    await booked(app_root, "apt_8412", "lead", lead_id)
    forged = {"firstName": "Mallory", "email": "mallory@evil.example", "phone": "000"}
    response = await post_session(app_root, {**regarding("lead", lead_id), "customer": forged, "appointmentId": "apt_8412"})

    assert response.status_code == 201, response.get_body()
    body = answer(response)
    assert body["redirectUrl"] == sandbox.redirect_template().replace("{sessionId}", quote(body["sessionId"], safe=""))
    assert body["expiresAt"].endswith("Z")
    [sent] = session_requests(sandbox)
    assert sent["json"] == {
        "appointmentId": "apt_8412",
        "customer": {"firstName": "Ana", "lastName": "Diaz", "email": "ana.diaz@example.com", "phone": "+15555550100"},
        "crmReference": {"entity": "lead", "id": lead_id},
    }
    assert sent["headers"]["authorization"] == f"Bearer {SANDBOX_API_KEY}"
    assert sent["headers"]["idempotency-key"]


async def test_contact_phone_falls_back_to_the_mobile_number(app_root, booking_env, sandbox, dataverse) -> None:
    contact_id = dataverse.insert("contacts", {"firstname": "Bo", "lastname": "Li", "mobilephone": "+15555550199"})
    response = await post_session(app_root, regarding("contact", contact_id))

    assert response.status_code == 201, response.get_body()
    [sent] = session_requests(sandbox)
    assert sent["json"]["customer"] == {"firstName": "Bo", "lastName": "Li", "email": None, "phone": "+15555550199"}
    assert sent["json"]["crmReference"] == {"entity": "contact", "id": contact_id}


async def test_redirect_route_answers_302_to_the_booking_page(app_root, booking_env, sandbox, lead_id) -> None:
    response = await get_redirect(app_root, {"entity": "lead", "id": lead_id})

    assert response.status_code == 302, response.get_body()
    location = urlsplit(response.headers["Location"])
    assert f"{location.scheme}://{location.netloc}" == sandbox.url
    [session_id] = parse_qs(location.query)["session"]
    [sent] = session_requests(sandbox)
    assert sent["json"]["customer"]["email"] == ANA["emailaddress1"]
    assert response.headers["Cache-Control"] == "no-store"
    assert session_id


async def test_a_double_click_opens_one_session(app_root, booking_env, sandbox, lead_id) -> None:
    first = answer(await post_session(app_root, regarding("lead", lead_id)))
    second = answer(await post_session(app_root, regarding("lead", lead_id)))

    keys = {r["headers"]["idempotency-key"] for r in session_requests(sandbox)}
    assert len(keys) == 1
    assert first["sessionId"] == second["sessionId"]


async def test_a_transient_booking_failure_is_retried_with_the_same_key_and_logged_privately(
    app_root, booking_env, sandbox, lead_id, caplog
) -> None:
    caplog.set_level(logging.DEBUG)
    sandbox.fail_next(1, "unavailable503")
    response = await post_session(app_root, regarding("lead", lead_id))

    assert response.status_code == 201, response.get_body()
    attempts = session_requests(sandbox)
    assert len(attempts) == 2
    assert attempts[0]["headers"]["idempotency-key"] == attempts[1]["headers"]["idempotency-key"]
    assert "retrying" in caplog.text
    for private in (*ANA.values(), SANDBOX_API_KEY, answer(response)["sessionId"]):
        assert private not in caplog.text


@pytest.mark.parametrize("entity", ["lead", "contact"])
async def test_unknown_record_is_404_and_the_booking_system_is_not_called(app_root, booking_env, sandbox, entity) -> None:
    response = await post_session(app_root, regarding(entity, str(uuid.uuid4())))

    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"
    assert session_requests(sandbox) == []


@pytest.mark.parametrize(
    ("body", "paths"),
    [
        (b"this is not json", {"$"}),
        ({"regarding": {"entity": "account", "id": str(uuid.uuid4())}}, {"$.regarding.entity"}),
        ({"regarding": {"entity": "lead", "id": "12345"}}, {"$.regarding.id"}),
        ({"regarding": {"entity": "incident", "id": "x"}, "appointmentId": 5}, {"$.regarding.entity", "$.regarding.id", "$.appointmentId"}),
    ],
)
async def test_bad_requests_are_400_listing_every_problem_and_touch_nothing(app_root, booking_env, sandbox, dataverse, body, paths) -> None:
    response = await post_session(app_root, body)

    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"
    assert {e["path"] for e in answer(response)["errors"]} == paths
    assert dataverse.count() == 0 and session_requests(sandbox) == []


async def test_bad_query_is_400(app_root, booking_env, sandbox) -> None:
    response = await get_redirect(app_root, {"entity": "lead", "id": "not-a-guid"})
    assert response.status_code == 400
    assert [e["path"] for e in answer(response)["errors"]] == ["id"]


async def test_an_oversized_body_is_413(app_root, booking_env, sandbox, dataverse, lead_id) -> None:
    response = await post_session(app_root, {**regarding("lead", lead_id), "padding": "x" * 20_000})
    assert response.status_code == 413
    assert session_requests(sandbox) == []


@pytest.mark.parametrize("mode", ["error500", "reject400", "garbage"])
async def test_booking_errors_and_garbage_are_502(app_root, booking_env, sandbox, lead_id, mode) -> None:
    sandbox.fail_next(1, mode)
    response = await post_session(app_root, regarding("lead", lead_id))

    assert response.status_code == 502
    assert response.mimetype == "application/problem+json"
    assert len(session_requests(sandbox)) == 1
    assert "Traceback" not in response.get_body().decode()


async def test_a_wrong_api_key_is_502(app_root, booking_env, sandbox, lead_id) -> None:
    sandbox.api_key = "another-key"
    response = await post_session(app_root, regarding("lead", lead_id))
    assert response.status_code == 502


async def test_booking_throttling_that_outlasts_the_retries_is_503_with_retry_after(app_root, booking_env, sandbox, lead_id) -> None:
    sandbox.fail_next(10, "throttle")
    response = await post_session(app_root, regarding("lead", lead_id))

    assert response.status_code == 503
    assert response.headers["Retry-After"] == "1"  # the booking system's own hint
    assert len(session_requests(sandbox)) == 3


async def test_a_hanging_booking_api_is_504(booking_env, sandbox, lead_id) -> None:
    import httpx

    from entry.composition_root import CompositionRoot

    quick = CompositionRoot(booking_env, booking_options={"timeout": httpx.Timeout(0.3, connect=0.3)})
    sandbox.fail_next(1, "hang")
    response = await post_session(quick, regarding("lead", lead_id))

    assert response.status_code == 504
    assert int(response.headers["Retry-After"]) >= 1


async def test_an_unreachable_booking_api_is_503(app_root, booking_env, lead_id) -> None:
    booking_env["BOOKING_API_URL"] = "http://127.0.0.1:9/api"  # discard port: nothing listens
    response = await post_session(app_root, regarding("lead", lead_id))

    assert response.status_code == 503
    assert "Retry-After" in response.headers


async def test_a_dataverse_429_storm_is_503_and_the_booking_system_is_not_called(app_root, booking_env, sandbox, dataverse, lead_id) -> None:
    dataverse.faults.throttle(50, retry_after=30)
    response = await post_session(app_root, regarding("lead", lead_id))

    assert response.status_code == 503
    assert response.headers["Retry-After"] == "30"
    assert 1 <= dataverse.count() <= 5
    assert session_requests(sandbox) == []


async def test_a_brief_dataverse_throttle_is_absorbed(app_root, booking_env, sandbox, dataverse, lead_id) -> None:
    dataverse.faults.throttle(2, retry_after=0)
    response = await post_session(app_root, regarding("lead", lead_id))

    assert response.status_code == 201, response.get_body()
    assert len(session_requests(sandbox)) == 1


async def test_a_dataverse_outage_is_503(app_root, booking_env, sandbox, dataverse, lead_id) -> None:
    dataverse.faults.fail(50, status=503, retry_after=30)
    response = await post_session(app_root, regarding("lead", lead_id))

    assert response.status_code == 503
    assert response.headers["Retry-After"] == "30"
    assert session_requests(sandbox) == []


HOSTILE = ["/../evil", "https://evil.example/x", "a?session=evil#frag", "//evil.example", "ünï/cødé", "x\r\nSet-Cookie: a=b"]


@pytest.mark.parametrize("session_id", HOSTILE)
async def test_hostile_session_ids_never_leave_the_booking_host(app_root, booking_env, sandbox, lead_id, session_id) -> None:
    sandbox.next_session_ids = [session_id, session_id]
    posted = await post_session(app_root, regarding("lead", lead_id))
    await booked(app_root, "apt_other", "lead", lead_id)
    redirected = await get_redirect(app_root, {"entity": "lead", "id": lead_id, "appointmentId": "apt_other"})

    assert posted.status_code == 201, posted.get_body()
    body = answer(posted)
    assert body["sessionId"] == session_id
    for url in (body["redirectUrl"], redirected.headers["Location"]):
        parts = urlsplit(url)
        assert f"{parts.scheme}://{parts.netloc}{parts.path}" == sandbox.url + "/book"
        assert parse_qs(parts.query) == {"session": [session_id]}
        assert parts.fragment == ""


async def test_a_dot_segment_session_id_is_refused(app_root, booking_env, sandbox, lead_id) -> None:
    booking_env["BOOKING_REDIRECT_URL"] = sandbox.url + "/book/{sessionId}"
    sandbox.next_session_ids = [".."]
    response = await post_session(app_root, regarding("lead", lead_id))
    assert response.status_code == 502


async def test_missing_settings_are_503_naming_them(app_root, booking_env, lead_id) -> None:
    del booking_env["BOOKING_REDIRECT_URL"]
    response = await post_session(app_root, regarding("lead", lead_id))
    assert response.status_code == 503
    assert answer(response)["settings"] == ["BOOKING_REDIRECT_URL"]


@pytest.mark.parametrize("suffix", ["\r\nSet-Cookie: a=b", "\\@evil.example/"])
async def test_a_redirect_template_a_browser_would_misread_is_503_naming_it(app_root, booking_env, sandbox, lead_id,
                                                                             suffix) -> None:
    booking_env["BOOKING_REDIRECT_URL"] = sandbox.url + "/book/{sessionId}" + suffix
    response = await get_redirect(app_root, {"entity": "lead", "id": lead_id})
    assert response.status_code == 503
    assert answer(response)["settings"] == ["BOOKING_REDIRECT_URL"]
    assert session_requests(sandbox) == []
