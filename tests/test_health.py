"""docs/spec.md#25-get-apihealth: GET /api/health says ok, or 503 naming what is misconfigured, never a secret."""

import json

import azure.functions as func
import pytest

from http_api.health import health

SECRET = "whsec_dGVzdC13ZWJob29rLXNlY3JldC0wMTIzNDU2Nzg5"


def call() -> func.HttpResponse:
    import asyncio

    return asyncio.run(health(func.HttpRequest("GET", "/api/health", body=b"")))


def set_env(monkeypatch, **values):
    for name in ("DATAVERSE_URL", "DATAVERSE_AUTH", "BOOKING_API_URL", "BOOKING_API_KEY",
                 "BOOKING_REDIRECT_URL", "BOOKING_WEBHOOK_SECRET", "BOOKING_SOURCE", "APPOINTMENT_VERSION_COLUMN"):
        monkeypatch.delenv(name, raising=False)
    for name, value in values.items():
        monkeypatch.setenv(name, value)


def test_ok_when_settings_are_valid(monkeypatch):
    set_env(monkeypatch, DATAVERSE_URL="https://contoso.crm.dynamics.com", BOOKING_API_URL="https://api.example.com",
            BOOKING_REDIRECT_URL="https://book.example.com/s/{sessionId}", BOOKING_WEBHOOK_SECRET=SECRET)
    resp = call()
    assert resp.status_code == 200
    assert json.loads(resp.get_body()) == {"status": "ok"}


def test_503_names_the_settings_and_reveals_no_secret(monkeypatch):
    set_env(monkeypatch, DATAVERSE_URL="https://contoso.crm.dynamics.com", DATAVERSE_AUTH="none",
            BOOKING_API_KEY="super-secret-api-key", BOOKING_WEBHOOK_SECRET=SECRET + " whsec_%%%")
    resp = call()
    assert resp.status_code == 503
    assert resp.mimetype == "application/problem+json"
    body = json.loads(resp.get_body())
    assert body["status"] == 503 and body["title"]
    assert set(body["settings"]) == {"DATAVERSE_AUTH", "BOOKING_API_URL", "BOOKING_REDIRECT_URL", "BOOKING_WEBHOOK_SECRET"}
    text = resp.get_body().decode()
    assert "super-secret-api-key" not in text and SECRET not in text
