"""Discovery, JWKS, key rotation, the first line of ``python -m emulators.identity``, errors."""

from __future__ import annotations

import os
import ssl
import subprocess
import sys
from pathlib import Path

import httpx
import jwt
import pytest

from .oracle import jwks_client, verified_claims

ROOT = Path(__file__).resolve().parents[2]


def test_discovery_document_names_the_tenant_endpoints(identity, https):
    answer = https.get(f"{identity.authority()}/v2.0/.well-known/openid-configuration")
    assert answer.status_code == 200
    doc = answer.json()
    assert doc["issuer"] == f"{identity.url}/{identity.tenant_id}/v2.0"
    assert doc["token_endpoint"] == identity.token_url()
    assert doc["authorization_endpoint"] == f"{identity.authority()}/oauth2/v2.0/authorize"
    assert doc["jwks_uri"] == identity.jwks_url()
    assert "private_key_jwt" in doc["token_endpoint_auth_methods_supported"]


def test_multi_tenant_discovery_has_the_templated_issuer(identity, https):
    doc = https.get(f"{identity.url}/organizations/v2.0/.well-known/openid-configuration").json()
    assert doc["issuer"] == f"{identity.url}/{{tenantid}}/v2.0"


def test_unknown_tenant_is_an_entra_style_error(identity, https):
    answer = https.get(f"{identity.url}/not-a-tenant/v2.0/.well-known/openid-configuration")
    assert answer.status_code == 400
    body = answer.json()
    assert body["error_codes"] == [90002]
    assert body["error_description"].startswith("AADSTS90002: ")
    assert {"timestamp", "trace_id", "correlation_id"} <= body.keys()


def test_jwks_publishes_the_signing_key_in_entra_shape(identity, https):
    keys = https.get(identity.jwks_url()).json()["keys"]
    assert [k["kid"] for k in keys] == identity.published_kids()
    key = keys[-1]
    assert key["kid"] == identity.signing_kid and key["x5t"] == key["kid"]
    assert key["kty"] == "RSA" and key["use"] == "sig" and key["e"] == "AQAB"
    assert key["issuer"] == f"{identity.url}/{{tenantid}}/v2.0"
    assert len(key["x5c"]) == 1


def test_rotation_with_overlap_keeps_old_tokens_verifiable(identity, registered):
    old = identity.mint_user_token(registered.alice, registered.api.client_id, ["Booking.Start"])
    old_kid = jwt.get_unverified_header(old)["kid"]
    new_kid = identity.rotate_keys(overlap=3600)
    assert new_kid != old_kid and identity.published_kids() == [old_kid, new_kid]
    new = identity.mint_user_token(registered.alice, registered.api.client_id, ["Booking.Start"])
    assert jwt.get_unverified_header(new)["kid"] == new_kid
    for token in (old, new):
        assert verified_claims(identity, token, audience=registered.api.client_id)["oid"] == registered.alice.oid


def test_rotation_without_overlap_unpublishes_the_old_key(identity, registered):
    old = identity.mint_user_token(registered.alice, registered.api.client_id, ["Booking.Start"])
    identity.rotate_keys(overlap=0)
    with pytest.raises(jwt.PyJWKClientError):
        jwks_client(identity).get_signing_key_from_jwt(old)


def test_overlap_ends_with_the_stand_in_clock(identity, registered):
    old_kid = identity.signing_kid
    identity.rotate_keys(overlap=600)
    assert old_kid in identity.published_kids()
    identity.clock_offset = 601
    assert old_kid not in identity.published_kids()


def test_command_line_first_line_names_url_and_ca(tmp_path):
    process = subprocess.Popen(
        [sys.executable, "-m", "emulators.identity", "--port", "0", "--cert-dir", str(tmp_path)],
        cwd=ROOT, stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline().strip()
        prefix = "Identity stand-in on https://127.0.0.1:"
        assert first.startswith(prefix), first
        url, _, rest = first.removeprefix("Identity stand-in on ").partition(" (CA certificate: ")
        ca_path = rest.removesuffix(")")
        assert Path(ca_path) == tmp_path / "ca.pem"
        with httpx.Client(verify=ssl.create_default_context(cafile=ca_path)) as client:
            assert client.get(f"{url}/organizations/v2.0/.well-known/openid-configuration").status_code == 200
        with httpx.Client() as untrusting, pytest.raises(httpx.ConnectError):
            untrusting.get(f"{url}/organizations/v2.0/.well-known/openid-configuration")
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_a_tenant_domain_name_works_as_the_authority_segment(identity, https):
    tid = identity.add_tenant(domain="fabrikam-test.onmicrosoft.example")
    doc = https.get(f"{identity.url}/fabrikam-test.onmicrosoft.example/v2.0/.well-known/openid-configuration").json()
    assert doc["issuer"] == f"{identity.url}/{tid}/v2.0"
