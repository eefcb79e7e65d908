"""Entra mode through the dev host, configured by environment as a deployment is: the session
route needs no function key but a user's token, the redirect route does not exist, and the
app trusts the identity stand-in's CA through SSL_CERT_FILE alone (for httpx and msal alike)."""

from __future__ import annotations

from typing import Any

import httpx

from devhost import DevHost
from tests.support import ROOT
from tests.support.booking import session_requests


def test_entra_mode_served_by_the_dev_host(entra_env, dataverse, sandbox, identity, user_token, monkeypatch) -> None:
    """Only SSL_CERT_FILE names the stand-in's CA: the app gives it to msal (requests) as well."""
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    lead = dataverse.insert("leads", {"firstname": "Ana", "lastname": "Diaz", "subject": "Mortgage"})
    settings: dict[str, Any] = {**entra_env, "SSL_CERT_FILE": identity.ca_path}
    body = {"regarding": {"entity": "lead", "id": lead}}
    with DevHost(ROOT, settings) as host, httpx.Client(base_url=host.url, timeout=30) as http:
        served = {f.name: f.auth_level for f in host.functions}
        refused = http.post("/api/booking-sessions", json=body)
        accepted = http.post("/api/booking-sessions", json=body, headers={"Authorization": f"Bearer {user_token()}"})
        redirect = http.get("/api/booking-sessions/redirect", params={"entity": "lead", "id": lead},
                            headers={"x-functions-key": host.keys.master_key})

    assert served["create_booking_session"] == "anonymous" and "redirect_to_booking" not in served
    assert refused.status_code == 401
    assert refused.headers["www-authenticate"].startswith('Bearer error="invalid_token"')
    assert refused.headers["content-type"] == "application/problem+json"
    assert accepted.status_code == 201, accepted.text
    assert len(session_requests(sandbox)) == 1
    assert redirect.status_code == 404


def test_health_names_the_entra_settings_that_are_missing_or_malformed(entra_env) -> None:
    settings = {**entra_env, "ENTRA_TENANT_ID": "contoso.onmicrosoft.com", "SESSION_API_AUDIENCE": "",
                "ENTRA_AUTHORITY": "http://login.example", "ENTRA_CLIENT_SECRET": "never-shown-secret-value"}
    with DevHost(ROOT, settings) as host:
        health = httpx.get(f"{host.url}/api/health")
        session = httpx.post(f"{host.url}/api/booking-sessions", json={})

    assert health.status_code == 503
    assert sorted(health.json()["settings"]) == ["ENTRA_AUTHORITY", "ENTRA_TENANT_ID", "SESSION_API_AUDIENCE"]
    assert session.status_code == 503 and session.json()["settings"] == health.json()["settings"]
    assert "never-shown-secret-value" not in health.text + session.text
