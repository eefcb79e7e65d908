"""The /_identity/ controls over HTTP (what `make run` and other processes use), lifetime and clock."""

from __future__ import annotations

import time

import jwt

from .oracle import verified_claims


def test_register_over_http_and_get_a_token(identity, https):
    control = f"{identity.url}/_identity"
    api = https.post(f"{control}/apps", json={"name": "HTTP API", "identifier_uris": ["api://http-api"],
                                              "scopes": ["Booking.Start"]}).json()
    daemon = https.post(f"{control}/apps", json={"name": "HTTP daemon", "secret": True}).json()
    assert daemon["secrets"] == 1 and daemon["secret"].startswith("stand-in~")
    token = https.post(identity.token_url(), data={
        "grant_type": "client_credentials", "client_id": daemon["client_id"], "client_secret": daemon["secret"],
        "scope": "api://http-api/.default"}).json()["access_token"]
    assert verified_claims(identity, token, audience=api["client_id"])["azp"] == daemon["client_id"]
    log = https.get(f"{control}/requests").json()["requests"]
    assert [(r["endpoint"], r["grant_type"], r["status"]) for r in log] == [("token", "client_credentials", 200)]


def test_user_tokens_settings_faults_and_rotation_over_http(identity, https):
    control = f"{identity.url}/_identity"
    api = https.post(f"{control}/apps", json={"name": "API", "identifier_uris": ["api://ctl-api"],
                                              "scopes": ["Booking.Start"]}).json()
    user = https.post(f"{control}/users", json={"username": "ctl.user@contoso.example", "name": "Control User"}).json()
    assert https.post(f"{control}/settings", json={"token_lifetime": 120}).json()["token_lifetime"] == 120
    token = https.post(f"{control}/user-tokens", json={"user": user["username"], "resource": "api://ctl-api",
                                                       "scopes": ["Booking.Start"]}).json()["access_token"]
    claims = verified_claims(identity, token, audience=api["client_id"])
    assert claims["exp"] - claims["iat"] == 120 and claims["oid"] == user["oid"]
    rotated = https.post(f"{control}/keys/rotate", json={"overlap_seconds": 0}).json()
    assert rotated["published"] == [rotated["kid"]]
    assert https.post(f"{control}/faults", json={"count": 2, "status": 503}).json() == {"pending": 2}
    assert https.get(f"{control}/").json()["identity_header"] == identity.identity_header
    assert https.post(f"{control}/reset").json() == {"reset": True}
    assert identity.token_lifetime == 3600 and not identity.state.faults


def test_bad_control_requests_are_400_problems(identity, https):
    control = f"{identity.url}/_identity"
    for path, body in (("users", {"name": "no username"}), ("settings", {"token_lifetime": 0}),
                       ("faults", {"count": "many"}), ("apps", {"name": "x", "unknown_field": 1}),
                       ("users", {"username": 5, "name": "n"}), ("settings", {"clock_offset": "NaN"}),
                       ("keys/rotate", {"overlap_seconds": -1}), ("faults", {"count": 1, "retry_after": 10**9})):
        answer = https.post(f"{control}/{path}", json=body)
        assert answer.status_code == 400, (path, answer.text)
        assert answer.headers["content-type"] == "application/problem+json"
    assert https.post(f"{control}/users", content=b"[1]").status_code == 400


def test_clock_offset_moves_issued_times(identity, registered):
    identity.clock_offset = -7200
    token = identity.mint_user_token(registered.alice, registered.api.client_id, ["Booking.Start"])
    claims = jwt.decode(token, options={"verify_signature": False})
    assert abs(claims["iat"] - (time.time() - 7200)) < 60
