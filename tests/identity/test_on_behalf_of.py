"""On-behalf-of with msal's ConfidentialClientApplication: the middle tier (the booking API)
trades the signed-in user's token for a Dataverse token carrying the same user."""

from __future__ import annotations

import jwt
import msal
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa

from emulators.identity.jws import sign_rs256

from .oracle import verified_claims

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"


def middle_tier(identity, registered, **options):
    return msal.ConfidentialClientApplication(
        registered.api.client_id, client_credential=registered.api_secret, authority=identity.authority(),
        instance_discovery=False, **options)


def user_token(identity, registered, user=None, **options):
    return identity.mint_user_token(user or registered.alice, registered.api.client_id, ["Booking.Start"],
                                    client_id=registered.spa.client_id, **options)


def dataverse_scope(registered):
    return [f"{registered.dataverse_url}/user_impersonation"]


def test_obo_issues_a_dataverse_token_for_the_same_user(identity, registered):
    incoming = user_token(identity, registered)
    result = middle_tier(identity, registered).acquire_token_on_behalf_of(incoming, dataverse_scope(registered))
    assert "access_token" in result, result
    claims = verified_claims(identity, result["access_token"], audience=registered.dataverse_url,
                             issuer=f"{identity.url}/{identity.tenant_id}/")
    assert claims["oid"] == registered.alice.oid and claims["tid"] == identity.tenant_id
    assert claims["scp"] == "user_impersonation" and claims["appid"] == registered.api.client_id
    assert claims["upn"] == registered.alice.username and "roles" not in claims
    assert result["id_token_claims"]["oid"] == registered.alice.oid  # msal asked for openid profile offline_access
    assert "refresh_token" in result
    [record] = identity.token_requests
    assert (record.grant_type, record.client_id, record.status) == (JWT_BEARER, registered.api.client_id, 200)


def test_obo_with_dot_default_gives_the_consented_scopes(identity, registered):
    result = middle_tier(identity, registered).acquire_token_on_behalf_of(
        user_token(identity, registered), [f"{registered.dataverse_url}/.default"])
    claims = verified_claims(identity, result["access_token"], audience=registered.dataverse_url,
                             issuer=f"{identity.url}/{identity.tenant_id}/")
    assert claims["scp"] == "user_impersonation"


def test_obo_accepts_the_api_identifier_uri_as_audience_and_v2_downstream(identity, registered):
    """A second v2 API downstream: aud is its client id, azp the middle tier."""
    downstream = identity.add_app("Reports API", identifier_uris=["api://reports-downstream"], scopes=["Read"])
    registered.api.delegated_grants[downstream.client_id] = ["Read"]
    incoming = identity.mint_user_token(registered.bob, registered.api.identifier_uris[0], ["Booking.Start"])
    result = middle_tier(identity, registered).acquire_token_on_behalf_of(incoming, ["api://reports-downstream/Read"])
    claims = verified_claims(identity, result["access_token"], audience=downstream.client_id)
    assert claims["oid"] == registered.bob.oid and claims["azp"] == registered.api.client_id
    assert claims["scp"] == "Read" and claims["ver"] == "2.0"


@pytest.mark.parametrize(
    ("case", "code"),
    [
        ("expired", 500133),
        ("wrong audience", 50013),
        ("foreign signature", 50013),
        ("app-only token", 50013),
        ("another tenant", 50013),
    ],
)
def test_obo_refuses_a_bad_user_assertion(identity, registered, case, code):
    if case == "expired":
        incoming = user_token(identity, registered, lifetime=-10)
    elif case == "wrong audience":
        incoming = identity.mint_user_token(registered.alice, registered.dataverse.client_id, ["user_impersonation"])
    elif case == "foreign signature":
        good = user_token(identity, registered)
        claims = jwt.decode(good, options={"verify_signature": False})
        header = {"kid": jwt.get_unverified_header(good)["kid"]}
        incoming = sign_rs256(header, claims, rsa.generate_private_key(public_exponent=65537, key_size=2048))
    elif case == "app-only token":
        daemon = msal.ConfidentialClientApplication(
            registered.daemon.client_id, client_credential=registered.daemon_secret, authority=identity.authority(),
            instance_discovery=False)
        incoming = daemon.acquire_token_for_client([f"{registered.api.identifier_uris[0]}/.default"])["access_token"]
    else:
        other = identity.add_tenant()
        stranger = identity.add_user("visitor@fabrikam.example", "Test Visitor", tenant_id=other)
        # A token another tenant issued (for an app registered there), presented to the home tenant.
        api_elsewhere = identity.add_app("Booking API (elsewhere)", tenant_id=other, scopes=["Booking.Start"])
        incoming = identity.mint_user_token(stranger, api_elsewhere.client_id, ["Booking.Start"])
    result = middle_tier(identity, registered).acquire_token_on_behalf_of(incoming, dataverse_scope(registered))
    assert result.get("error") == "invalid_grant", result
    assert result["error_codes"] == [code]


def test_obo_without_consent_is_65001(identity, registered):
    registered.api.delegated_grants.clear()
    result = middle_tier(identity, registered).acquire_token_on_behalf_of(
        user_token(identity, registered), dataverse_scope(registered))
    assert result["error"] == "invalid_grant" and result["error_codes"] == [65001]


def test_obo_for_a_user_under_conditional_access_relays_a_claims_challenge(identity, registered):
    registered.alice.requires_interaction = True
    result = middle_tier(identity, registered).acquire_token_on_behalf_of(
        user_token(identity, registered), dataverse_scope(registered))
    assert result["error"] == "interaction_required" and result["error_codes"] == [50076]
    assert "capolids" in result["claims"]


def test_obo_answers_are_cached_per_user_by_the_caller(identity, registered):
    """msal's OBO always asks the stand-in; reuse goes through acquire_token_silent on the user's account."""
    app = middle_tier(identity, registered)
    first = app.acquire_token_on_behalf_of(user_token(identity, registered), dataverse_scope(registered))
    [account] = app.get_accounts(username=registered.alice.username)
    again = app.acquire_token_silent(dataverse_scope(registered), account)
    assert again["access_token"] == first["access_token"]
    assert identity.count(grant_type=JWT_BEARER) == 1


def test_raw_obo_needs_requested_token_use_and_a_confidential_client(identity, registered):
    with requests.Session() as session:
        form = {"grant_type": JWT_BEARER, "client_id": registered.api.client_id, "client_secret": registered.api_secret,
                "assertion": user_token(identity, registered), "scope": dataverse_scope(registered)[0]}
        missing = session.post(identity.token_url(), data=form).json()
        assert missing["error_codes"] == [900144] and "requested_token_use" in missing["error_description"]
        public = session.post(identity.token_url(), data={**form, "requested_token_use": "on_behalf_of",
                                                          "client_id": registered.spa.client_id}).json()
        assert public["error"] == "invalid_client" and public["error_codes"] == [700025]
