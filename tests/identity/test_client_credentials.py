"""Client credentials with the real msal and azure-identity: secret, certificate assertion, errors, faults."""

from __future__ import annotations

import datetime as dt

import msal
import pytest
from azure.core.exceptions import ClientAuthenticationError
from azure.identity import ClientSecretCredential
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from .oracle import verified_claims


def confidential(identity, client_id, credential, tenant_id=None):
    return msal.ConfidentialClientApplication(
        client_id, client_credential=credential, authority=identity.authority(tenant_id), instance_discovery=False,
    )


def test_client_secret_gives_an_app_token_for_the_resource(identity, registered):
    app = confidential(identity, registered.daemon.client_id, registered.daemon_secret)
    result = app.acquire_token_for_client([f"{registered.dataverse_url}/.default"])
    assert "access_token" in result, result
    # Dataverse accepts v1 tokens: aud is the URL as requested, iss the v1 form, appid instead of azp.
    claims = verified_claims(identity, result["access_token"], audience=registered.dataverse_url,
                             issuer=f"{identity.url}/{identity.tenant_id}/")
    assert claims["appid"] == registered.daemon.client_id and claims["appidacr"] == "1"
    assert claims["roles"] == ["Data.ReadWrite"] and claims["idtyp"] == "app"
    assert claims["oid"] == registered.daemon.object_id and claims["tid"] == identity.tenant_id
    assert claims["ver"] == "1.0" and "scp" not in claims
    assert identity.count(grant_type="client_credentials", status=200) == 1


def test_v2_resource_gets_client_id_audience_and_azp(identity, registered):
    app = confidential(identity, registered.daemon.client_id, registered.daemon_secret)
    result = app.acquire_token_for_client([f"{registered.api.identifier_uris[0]}/.default"])
    claims = verified_claims(identity, result["access_token"], audience=registered.api.client_id)
    assert claims["azp"] == registered.daemon.client_id and claims["azpacr"] == "1" and claims["ver"] == "2.0"
    assert "roles" not in claims  # no application permission granted on that API
    assert 3500 <= claims["exp"] - claims["iat"] <= 3600


def test_msal_serves_the_second_request_from_its_cache(identity, registered):
    app = confidential(identity, registered.daemon.client_id, registered.daemon_secret)
    scopes = [f"{registered.dataverse_url}/.default"]
    first, second = app.acquire_token_for_client(scopes), app.acquire_token_for_client(scopes)
    assert first["access_token"] == second["access_token"]
    assert identity.count(endpoint="token") == 1


def test_wrong_secret_is_invalid_client(identity, registered):
    result = confidential(identity, registered.daemon.client_id, "not-the-secret").acquire_token_for_client(
        [f"{registered.dataverse_url}/.default"])
    assert result["error"] == "invalid_client" and result["error_codes"] == [7000215]
    assert result["error_description"].startswith("AADSTS7000215: ")
    assert identity.count(status=401) == 1


def test_unknown_client_and_unknown_resource_and_bad_scope(identity, registered):
    unknown = confidential(identity, "00000000-1111-2222-3333-444444444444", "x").acquire_token_for_client(
        [f"{registered.dataverse_url}/.default"])
    assert unknown["error"] == "unauthorized_client" and unknown["error_codes"] == [700016]
    app = confidential(identity, registered.daemon.client_id, registered.daemon_secret)
    assert app.acquire_token_for_client(["https://nowhere.example/.default"])["error_codes"] == [500011]
    assert app.acquire_token_for_client([f"{registered.dataverse_url}/user_impersonation"])["error_codes"] == [1002012]


def test_foreign_tenant_does_not_know_the_app(identity, registered):
    other = identity.add_tenant()
    result = confidential(identity, registered.daemon.client_id, registered.daemon_secret, other) \
        .acquire_token_for_client([f"{registered.dataverse_url}/.default"])
    assert result["error_codes"] == [700016]


def _certificate() -> tuple[bytes, bytes, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "daemon")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(now - dt.timedelta(hours=1)).not_valid_after(now + dt.timedelta(days=1))
            .sign(key, hashes.SHA256()))
    pem = cert.public_bytes(serialization.Encoding.PEM)
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return pem, key_pem, cert.fingerprint(hashes.SHA1()).hex()  # noqa: S303 - thumbprint format


def test_certificate_client_assertion_rs256_and_ps256(identity, registered):
    cert_pem, key_pem, sha1 = _certificate()
    registered.daemon.add_certificate(cert_pem)
    scopes = [f"{registered.dataverse_url}/.default"]
    # A SHA-1 thumbprint makes msal sign RS256 with x5t; the certificate itself, PS256 with x5t#S256.
    for credential in ({"private_key": key_pem.decode(), "thumbprint": sha1},
                       {"private_key": key_pem.decode(), "public_certificate": cert_pem.decode()}):
        result = confidential(identity, registered.daemon.client_id, credential).acquire_token_for_client(scopes)
        assert "access_token" in result, result
        claims = verified_claims(identity, result["access_token"], audience=registered.dataverse_url,
                                 issuer=f"{identity.url}/{identity.tenant_id}/")
        assert claims["appidacr"] == "2"


def test_assertion_signed_by_another_key_fails_signature(identity, registered):
    cert_pem, _, sha1 = _certificate()
    _, other_key, _ = _certificate()
    registered.daemon.add_certificate(cert_pem)
    result = confidential(identity, registered.daemon.client_id, {"private_key": other_key.decode(),
                                                                   "thumbprint": sha1}) \
        .acquire_token_for_client([f"{registered.dataverse_url}/.default"])
    assert result["error"] == "invalid_client" and result["error_codes"] == [700027]


def test_azure_identity_client_secret_credential(identity, registered):
    credential = ClientSecretCredential(
        identity.tenant_id, registered.daemon.client_id, registered.daemon_secret,
        authority=identity.url, disable_instance_discovery=True,
    )
    token = credential.get_token(f"{registered.dataverse_url}/.default")
    claims = verified_claims(identity, token.token, audience=registered.dataverse_url,
                             issuer=f"{identity.url}/{identity.tenant_id}/")
    assert claims["appid"] == registered.daemon.client_id
    assert abs(token.expires_on - claims["exp"]) <= 5


def test_azure_identity_wrong_secret_raises(identity, registered):
    credential = ClientSecretCredential(identity.tenant_id, registered.daemon.client_id, "wrong-value",
                                        authority=identity.url, disable_instance_discovery=True)
    with pytest.raises(ClientAuthenticationError) as caught:
        credential.get_token(f"{registered.dataverse_url}/.default")
    assert "AADSTS7000215" in str(caught.value)


def test_planned_faults_answer_503_and_429_with_retry_after(identity, registered, https):
    identity.fail_next(1, status=503, retry_after=2)
    identity.fail_next(1, status=429, retry_after=7)
    form = {"grant_type": "client_credentials", "client_id": registered.daemon.client_id,
            "client_secret": registered.daemon_secret, "scope": f"{registered.dataverse_url}/.default"}
    first, second, third = (https.post(identity.token_url(), data=form) for _ in range(3))
    assert (first.status_code, first.headers["retry-after"]) == (503, "2")
    assert (second.status_code, second.headers["retry-after"]) == (429, "7")
    assert first.json()["error"] == "temporarily_unavailable"
    assert third.status_code == 200
    assert [r.status for r in identity.token_requests] == [503, 429, 200]


def test_missing_parameters_and_unknown_grant(identity, registered, https):
    assert https.post(identity.token_url(), data={}).json()["error_codes"] == [900144]
    answer = https.post(identity.token_url(), data={"grant_type": "password", "client_id": "x"})
    assert answer.status_code == 400 and answer.json()["error"] == "unsupported_grant_type"
    no_credential = https.post(identity.token_url(), data={
        "grant_type": "client_credentials", "client_id": registered.daemon.client_id,
        "scope": f"{registered.dataverse_url}/.default"})
    assert no_credential.status_code == 401 and no_credential.json()["error_codes"] == [7000218]
