"""The one place that turns errors into HTTP answers: RFC 9457 documents, never a stack trace."""

import asyncio
import json
import logging

import azure.functions as func

from http_api.problems import answers_problems
from integration.errors import (
    FieldProblem,
    InvalidInput,
    PayloadTooLarge,
    RecordNotFound,
    SignatureRejected,
    UpstreamRejected,
    UpstreamUnavailable,
)


def answer(exc: Exception) -> func.HttpResponse:
    @answers_problems
    async def handler(req: func.HttpRequest) -> func.HttpResponse:
        raise exc

    return asyncio.run(handler(func.HttpRequest("GET", "/api/x", body=b"")))


def body(resp: func.HttpResponse) -> dict:
    assert resp.mimetype == "application/problem+json"
    doc = json.loads(resp.get_body())
    assert doc["status"] == resp.status_code and doc["title"] and doc["type"]
    return doc


def test_each_flow_error_has_its_status():
    cases = [
        (RecordNotFound("lead not found"), 404),
        (PayloadTooLarge("over 256 KiB"), 413),
        (SignatureRejected("no valid signature"), 401),
        (UpstreamRejected("booking API answered 500"), 502),
    ]
    for exc, status in cases:
        resp = answer(exc)
        assert resp.status_code == status
        assert body(resp)["detail"] == exc.detail
        assert "Retry-After" not in resp.headers


def test_invalid_input_lists_every_problem_by_path():
    resp = answer(InvalidInput("2 problems", problems=[FieldProblem("$.a", "required"), FieldProblem("$.b[0]", "not a GUID")]))
    assert resp.status_code == 400
    assert body(resp)["errors"] == [{"path": "$.a", "message": "required"}, {"path": "$.b[0]", "message": "not a GUID"}]


def test_unavailable_and_timeout_carry_retry_after():
    resp = answer(UpstreamUnavailable("throttled", seconds=2.2))
    assert (resp.status_code, resp.headers["Retry-After"]) == (503, "3")
    resp = answer(UpstreamUnavailable("slow", seconds=7, timed_out=True))
    assert (resp.status_code, resp.headers["Retry-After"]) == (504, "7")


def test_unexpected_error_is_a_500_without_its_message_or_trace(caplog):
    caplog.set_level(logging.ERROR)
    resp = answer(KeyError("ana@example.com"))
    assert resp.status_code == 500
    text = resp.get_body().decode()
    assert "ana@example.com" not in text and "Traceback" not in text and "KeyError" not in text
    assert "ana@example.com" not in caplog.text
    assert "KeyError" in caplog.text


def test_a_request_past_its_deadline_is_cancelled_and_answered_503():
    cancelled = []

    @answers_problems(deadline=0.05)
    async def slow(req: func.HttpRequest) -> func.HttpResponse:
        try:
            await asyncio.sleep(5)
        except asyncio.CancelledError:
            cancelled.append(True)
            raise
        return func.HttpResponse("late")

    resp = asyncio.run(slow(func.HttpRequest("GET", "/api/x", body=b"")))
    assert (resp.status_code, resp.headers["Retry-After"]) == (503, "5")
    assert body(resp)["title"] == "Took too long" and cancelled == [True]


def test_a_timeout_error_from_inside_is_not_mistaken_for_the_deadline():
    resp = answer(TimeoutError("socket"))
    assert resp.status_code == 500


def test_a_dataverse_timeout_is_an_outage_503():
    from dataverse import errors

    resp = answer(errors.Timeout("no answer", client_request_id="c1"))
    assert resp.status_code == 503 and int(resp.headers["Retry-After"]) >= 1


def test_retry_after_from_outside_is_answered_within_bounds():
    from dataverse.errors import Throttled

    for value, seconds in ((float("inf"), "300"), (float("nan"), "300"), (1e400, "300"), (10**400, "300"),
                           (-3.0, "1"), (0.2, "1"), (299.5, "300"), (1e6, "300")):
        resp = answer(Throttled("throttled", status=429, retry_after=value))
        assert resp.status_code == 503 and resp.headers["Retry-After"] == seconds, value
        assert body(resp)["retryAfter"] == int(seconds)


def test_the_error_handler_never_raises_even_when_an_error_cannot_be_described(caplog):
    from booking_client.errors import BookingRejected

    class Unprintable(BookingRejected):
        def __str__(self) -> str:
            raise RuntimeError("secret detail")

    resp = answer(Unprintable("x"))
    assert resp.status_code == 500 and body(resp)["title"] == "Internal error"
    assert "secret detail" not in caplog.text


def test_storage_outages_are_503_with_a_bounded_retry_after():
    from storage_client.errors import LeaseTaken, StorageRefused, StorageUnavailable

    resp = answer(StorageUnavailable("storage unreachable (get entity x: ServiceRequestError)"))
    assert (resp.status_code, resp.headers["Retry-After"]) == (503, "5")
    assert body(resp)["title"] == "Storage unavailable"
    resp = answer(StorageUnavailable("busy", status=503, retry_after=3600))
    assert resp.headers["Retry-After"] == "30"
    resp = answer(StorageRefused("storage refused the app's credentials", status=403))
    assert resp.status_code == 503 and "AzureWebJobsStorage" in body(resp)["detail"]
    resp = answer(LeaseTaken("held"))
    assert resp.status_code == 503 and "Retry-After" in resp.headers


def test_storage_misconfigured_is_503_naming_the_setting_with_the_operators_retry_after():
    from storage_client.errors import StorageMisconfigured

    resp = answer(StorageMisconfigured("storage answered but cannot be used (probe: 404 ResourceNotFound)",
                                       status=404, code="ResourceNotFound"))
    doc = body(resp)
    assert (resp.status_code, resp.headers["Retry-After"], doc["title"]) == (503, "30", "Storage misconfigured")
    assert doc["settings"] == ["AzureWebJobsStorage"] and "404 ResourceNotFound" in doc["detail"]
