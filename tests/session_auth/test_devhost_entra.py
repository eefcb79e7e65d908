"""Entra mode through the dev host, configured by environment as a deployment is: the session
route needs no function key but a user's token, the redirect route does not exist, and the
app trusts the identity stand-in's CA through SSL_CERT_FILE alone (for httpx and msal alike)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from devhost import DevHost
from tests.booking_sessions.app_calls import session_requests

ROOT = Path(__file__).resolve().parents[2]


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
