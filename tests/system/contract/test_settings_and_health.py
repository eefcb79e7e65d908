"""docs/spec.md#1-settings (settings) and #25-get-apihealth (health), from outside: start the app with given settings
and ask it over HTTP."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest

from tests.support import loopback
from tests.support.apphost import start_host, stop_host
from tests.support.problems import problem
from tests.system.contract.stage import API_KEY, WEBHOOK_SECRET, base_settings

REQUIRED = ("DATAVERSE_URL", "BOOKING_API_URL", "BOOKING_REDIRECT_URL", "BOOKING_WEBHOOK_SECRET")
LEAD_ID = "6f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"


@contextmanager
def host_with(settings: dict[str, str]) -> Iterator[tuple[Any, httpx.Client]]:
    host = start_host(settings)
    try:
        with loopback.client(base_url=host.url, timeout=30) as http:
            yield host, http
    finally:
        stop_host(host)


@pytest.fixture
def good(dataverse: Any, booking: Any) -> dict[str, str]:
    return base_settings(dataverse.url, booking)


def first_requests(host: Any, http: httpx.Client) -> list[httpx.Response]:
    """The first request to each route, as its real caller would send it."""
    key = {"x-functions-key": host.keys.default_key}
    return [
        http.post("/api/booking-sessions", headers=key, json={"regarding": {"entity": "lead", "id": LEAD_ID}}),
        http.get("/api/booking-sessions/redirect", headers=key, params={"entity": "lead", "id": LEAD_ID}),
        http.post("/api/webhooks/appointments", content=b"{}", headers={"content-type": "application/json"}),
        http.post("/api/schedules/import", headers=key, json={"source": "x", "agents": []}),
    ]


def assert_names(answer: httpx.Response, names: tuple[str, ...], secrets: tuple[str, ...]) -> None:
    assert any(name in answer.text for name in names), (names, answer.text)
    for secret in secrets:
        assert secret not in answer.text


def test_health_is_ok_with_valid_settings_and_anonymous(app: Any) -> None:
    answer = loopback.get(app.url + "/api/health")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/json")
    assert answer.json()["status"] == "ok"


@pytest.mark.parametrize("name", REQUIRED)
def test_missing_required_setting_is_named_by_health_and_first_request(good: dict[str, str], name: str) -> None:
    settings = {k: v for k, v in good.items() if k != name}
    with host_with(settings) as (host, http):
        health = http.get("/api/health")
        assert health.status_code == 503
        assert_names(health, (name,), (WEBHOOK_SECRET, API_KEY))
        for answer in first_requests(host, http):
            problem(answer, (500, 503))
            assert_names(answer, (name,), (WEBHOOK_SECRET, API_KEY))


@pytest.mark.parametrize("name", REQUIRED)
def test_empty_required_setting_counts_as_missing(good: dict[str, str], name: str) -> None:
    with host_with({**good, name: "  "}) as (_, http):
        health = http.get("/api/health")
        assert health.status_code == 503
        assert_names(health, (name,), (WEBHOOK_SECRET, API_KEY))


MALFORMED = [
    ("DATAVERSE_URL", "not a url"),
    ("DATAVERSE_URL", "ftp://127.0.0.1:5555"),
    ("DATAVERSE_URL", "https://contoso.crm.dynamics.com/api/data/v9.2"),
    ("DATAVERSE_AUTH", "password"),
    ("BOOKING_API_URL", "not a url"),
    ("BOOKING_REDIRECT_URL", "https://book.example.com/start"),
    ("BOOKING_REDIRECT_URL", "not a url {sessionId}"),
    ("BOOKING_WEBHOOK_SECRET", "plain-text-secret-0123456789"),
    ("BOOKING_WEBHOOK_SECRET", "whsec_***not*base64***"),
    ("BOOKING_WEBHOOK_SECRET", WEBHOOK_SECRET + " whsec_***not*base64***"),
    ("AzureWebJobsStorage", "AccountName=contosofn;AccountKey=***not*base64***"),
    ("AzureWebJobsStorage__accountName", "Not An Account"),
]


@pytest.mark.parametrize(("name", "value"), MALFORMED, ids=[f"{n}-{i}" for i, (n, _) in enumerate(MALFORMED)])
def test_malformed_setting_is_named_and_its_value_not_echoed(good: dict[str, str], name: str, value: str) -> None:
    with host_with({**good, name: value}) as (host, http):
        health = http.get("/api/health")
        assert health.status_code == 503
        assert_names(health, (name,), (WEBHOOK_SECRET, API_KEY))
        if name in ("BOOKING_WEBHOOK_SECRET", "AzureWebJobsStorage"):
            assert "not*base64" not in health.text and "plain-text-secret" not in health.text
        answer = first_requests(host, http)[0]
        problem(answer, (500, 503))
        assert_names(answer, (name,), (WEBHOOK_SECRET, API_KEY))


NOT_LOOPBACK = ["https://contoso.crm.dynamics.com", "http://10.1.2.3:5555", "http://localhost.example.com:5555",
                "http://127.0.0.1.nip.io:5555", "http://192.168.0.10"]


@pytest.mark.parametrize("url", NOT_LOOPBACK)
def test_auth_none_with_a_non_loopback_url_is_a_configuration_error(good: dict[str, str], url: str) -> None:
    with host_with({**good, "DATAVERSE_URL": url, "DATAVERSE_AUTH": "none"}) as (host, http):
        health = http.get("/api/health")
        assert health.status_code == 503
        assert_names(health, ("DATAVERSE_AUTH", "DATAVERSE_URL"), (WEBHOOK_SECRET, API_KEY))
        answer = first_requests(host, http)[0]
        problem(answer, (500, 503))
        assert_names(answer, ("DATAVERSE_AUTH", "DATAVERSE_URL"), (WEBHOOK_SECRET, API_KEY))


@pytest.mark.parametrize("url", ["http://127.0.0.1:5555", "http://localhost:5555"])
def test_auth_none_with_a_loopback_url_is_accepted(good: dict[str, str], url: str) -> None:
    with host_with({**good, "DATAVERSE_URL": url}) as (_, http):
        assert http.get("/api/health").json()["status"] == "ok"


def test_defaults_azure_auth_and_optional_settings_absent(good: dict[str, str]) -> None:
    settings = {k: v for k, v in good.items() if k not in ("DATAVERSE_AUTH", "BOOKING_API_KEY", "BOOKING_SOURCE",
                                                          "APPOINTMENT_VERSION_COLUMN")}
    settings["DATAVERSE_URL"] = "https://contoso.crm.dynamics.com"
    with host_with(settings) as (_, http):
        answer = http.get("/api/health")
        assert answer.status_code == 200, answer.text
        assert answer.json()["status"] == "ok"


def test_several_webhook_secrets_separated_by_spaces_are_valid(good: dict[str, str]) -> None:
    from tests.support.webhooks import new_secret

    with host_with({**good, "BOOKING_WEBHOOK_SECRET": f"{new_secret()} {WEBHOOK_SECRET}"}) as (_, http):
        assert http.get("/api/health").json()["status"] == "ok"


def test_health_names_every_problem_and_reveals_no_secret(good: dict[str, str]) -> None:
    settings = {**good, "BOOKING_REDIRECT_URL": "https://book.example.com/no-placeholder"}
    del settings["BOOKING_API_URL"]
    with host_with(settings) as (_, http):
        health = http.get("/api/health")
        assert health.status_code == 503
        for name in ("BOOKING_API_URL", "BOOKING_REDIRECT_URL"):
            assert name in health.text
        dumped = json.dumps(health.json())
        assert WEBHOOK_SECRET not in dumped and WEBHOOK_SECRET.removeprefix("whsec_") not in dumped
        assert API_KEY not in dumped


def test_settings_errors_are_not_logged_with_secrets(good: dict[str, str], caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("INFO")
    bad_secret = "whsec_***not*base64*LEAKCHECK***"
    with host_with({**good, "BOOKING_WEBHOOK_SECRET": bad_secret}) as (host, http):
        http.get("/api/health")
        first_requests(host, http)
    assert "LEAKCHECK" not in caplog.text
    assert API_KEY not in caplog.text
