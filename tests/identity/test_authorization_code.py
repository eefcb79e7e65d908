"""Browser sign-in: the authorize page, authorization code with PKCE (msal's PublicClientApplication
and raw HTTP), refresh tokens, and the silent (prompt=none) answers."""

from __future__ import annotations

import base64
import hashlib
import html
import re
import secrets
from urllib.parse import parse_qs, urlsplit

import msal
import pytest

from .oracle import verified_claims


def booking_scope(registered):
    return [f"{registered.api.identifier_uris[0]}/Booking.Start"]


def spa_client(identity, registered):
    return msal.PublicClientApplication(registered.spa.client_id, authority=identity.authority(),
                                        instance_discovery=False)


def hidden_fields(page: str) -> dict[str, str]:
    return {html.unescape(k): html.unescape(v)
            for k, v in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', page)}


def sign_in(https, auth_uri: str, user) -> dict[str, str]:
    """What a browser does: open the page, press the user's button, follow to the redirect URI."""
    page = https.get(auth_uri)
    assert page.status_code == 200 and user.username in page.text
    answer = https.post(auth_uri.split("?")[0], data={**hidden_fields(page.text), "user": user.oid})
    if answer.status_code == 200:  # response_mode=form_post: the page posts the answer to the redirect URI
        return hidden_fields(answer.text)
    assert answer.status_code == 302, answer.text
    return {k: v[0] for k, v in parse_qs(urlsplit(answer.headers["location"]).query).items()}


def test_msal_public_client_signs_in_with_pkce_and_refreshes(identity, registered, https):
    app = spa_client(identity, registered)
    flow = app.initiate_auth_code_flow(booking_scope(registered), redirect_uri=registered.redirect_uri,
                                       response_mode="form_post")
    sent = {k: v[0] for k, v in parse_qs(urlsplit(flow["auth_uri"]).query).items()}
    assert sent["code_challenge_method"] == "S256" and sent["response_mode"] == "form_post"
    response = sign_in(https, flow["auth_uri"], registered.alice)
    result = app.acquire_token_by_auth_code_flow(flow, response)
    assert "access_token" in result, result
    claims = verified_claims(identity, result["access_token"], audience=registered.api.client_id)
    assert claims["oid"] == registered.alice.oid and claims["scp"] == "Booking.Start"
    assert claims["azp"] == registered.spa.client_id and claims["azpacr"] == "0"
    id_claims = verified_claims(identity, result["id_token"], audience=registered.spa.client_id)
    assert id_claims["nonce"] == sent["nonce"]
    assert id_claims["preferred_username"] == registered.alice.username

    [account] = app.get_accounts()
    assert account["home_account_id"] == f"{registered.alice.oid}.{identity.tenant_id}"
    refreshed = app.acquire_token_silent(booking_scope(registered), account, force_refresh=True)
    assert refreshed["access_token"] != result["access_token"]
    assert identity.count(grant_type="refresh_token", status=200) == 1
    assert identity.count(grant_type="authorization_code", status=200) == 1


def _pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    return verifier, base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def _authorize_url(identity, registered, **extra) -> str:
    from urllib.parse import urlencode

    params = {"client_id": registered.spa.client_id, "response_type": "code", "redirect_uri": registered.redirect_uri,
              "scope": " ".join(booking_scope(registered) + ["openid", "offline_access"]), "state": "s-1", **extra}
    return f"{identity.authority()}/oauth2/v2.0/authorize?{urlencode(params)}"


def test_code_is_single_use_and_bound_to_the_verifier(identity, registered, https):
    verifier, challenge = _pkce()
    response = sign_in(https, _authorize_url(identity, registered, code_challenge=challenge,
                                             code_challenge_method="S256"), registered.bob)
    assert response["state"] == "s-1"
    form = {"grant_type": "authorization_code", "client_id": registered.spa.client_id, "code": response["code"],
            "redirect_uri": registered.redirect_uri}
    wrong = https.post(identity.token_url(), data={**form, "code_verifier": "x" * 43})
    assert wrong.status_code == 400 and wrong.json()["error_codes"] == [501481]
    ok = https.post(identity.token_url(), data={**form, "code_verifier": verifier})
    assert ok.status_code == 200 and "refresh_token" in ok.json()
    again = https.post(identity.token_url(), data={**form, "code_verifier": verifier})
    assert again.json()["error_codes"] == [54005]


def test_public_client_must_use_pkce_s256(identity, registered, https):
    plain = https.get(_authorize_url(identity, registered, code_challenge="abc", code_challenge_method="plain"))
    none = https.get(_authorize_url(identity, registered))
    for answer in (plain, none):
        assert answer.status_code == 302
        query = parse_qs(urlsplit(answer.headers["location"]).query)
        assert query["error"] == ["invalid_request"] and query["state"] == ["s-1"]


def test_unregistered_redirect_uri_gets_an_error_page_not_a_redirect(identity, registered, https):
    answer = https.get(_authorize_url(identity, registered, redirect_uri="https://attacker.example/cb"))
    assert answer.status_code == 400 and "AADSTS50011" in answer.text and "location" not in answer.headers


def test_prompt_none_without_a_session_is_login_required(identity, registered, https):
    _, challenge = _pkce()
    answer = https.get(_authorize_url(identity, registered, prompt="none", code_challenge=challenge,
                                      code_challenge_method="S256"))
    query = parse_qs(urlsplit(answer.headers["location"]).query)
    assert query["error"] == ["login_required"] and query["error_description"][0].startswith("AADSTS50058: ")


@pytest.mark.parametrize("mode", ["fragment", "form_post"])
def test_prompt_none_with_a_session_answers_per_response_mode(identity, registered, https, mode):
    _, challenge = _pkce()
    pkce = {"code_challenge": challenge, "code_challenge_method": "S256"}
    sign_in(https, _authorize_url(identity, registered, **pkce), registered.alice)  # sets the session cookie
    answer = https.get(_authorize_url(identity, registered, prompt="none", response_mode=mode,
                                      login_hint=registered.alice.username, **pkce))
    if mode == "fragment":
        assert answer.status_code == 302
        fragment = parse_qs(urlsplit(answer.headers["location"]).fragment)
        assert "code" in fragment and fragment["state"] == ["s-1"]
    else:
        assert answer.status_code == 200
        assert f'action="{registered.redirect_uri}"' in answer.text and 'name="code"' in answer.text


def test_prompt_none_for_a_user_under_mfa_is_interaction_required(identity, registered, https):
    _, challenge = _pkce()
    pkce = {"code_challenge": challenge, "code_challenge_method": "S256"}
    sign_in(https, _authorize_url(identity, registered, **pkce), registered.bob)
    registered.bob.requires_interaction = True
    answer = https.get(_authorize_url(identity, registered, prompt="none", **pkce))
    query = parse_qs(urlsplit(answer.headers["location"]).query)
    assert query["error"] == ["interaction_required"] and "AADSTS50076" in query["error_description"][0]


def test_refresh_token_is_bound_to_its_client(identity, registered, https):
    verifier, challenge = _pkce()
    response = sign_in(https, _authorize_url(identity, registered, code_challenge=challenge,
                                             code_challenge_method="S256"), registered.alice)
    tokens = https.post(identity.token_url(), data={
        "grant_type": "authorization_code", "client_id": registered.spa.client_id, "code": response["code"],
        "redirect_uri": registered.redirect_uri, "code_verifier": verifier}).json()
    stolen = https.post(identity.token_url(), data={
        "grant_type": "refresh_token", "client_id": registered.api.client_id, "client_secret": registered.api_secret,
        "refresh_token": tokens["refresh_token"]})
    assert stolen.status_code == 400 and stolen.json()["error_codes"] == [70000]
    garbage = https.post(identity.token_url(), data={
        "grant_type": "refresh_token", "client_id": registered.spa.client_id, "refresh_token": "nope"})
    assert garbage.json()["error"] == "invalid_grant"


def test_browser_redemption_is_cors_enabled_for_spas_only(identity, registered, https):
    origin = {"Origin": "https://org.crm.example"}
    preflight = https.options(identity.token_url(), headers={**origin, "Access-Control-Request-Method": "POST"})
    assert preflight.status_code == 204 and preflight.headers["access-control-allow-origin"] == origin["Origin"]
    verifier, challenge = _pkce()
    response = sign_in(https, _authorize_url(identity, registered, code_challenge=challenge,
                                             code_challenge_method="S256"), registered.alice)
    spa = https.post(identity.token_url(), headers=origin, data={
        "grant_type": "authorization_code", "client_id": registered.spa.client_id, "code": response["code"],
        "redirect_uri": registered.redirect_uri, "code_verifier": verifier})
    assert spa.status_code == 200 and spa.headers["access-control-allow-origin"] == origin["Origin"]
    confidential = https.post(identity.token_url(), headers=origin, data={
        "grant_type": "client_credentials", "client_id": registered.daemon.client_id,
        "client_secret": registered.daemon_secret, "scope": f"{registered.dataverse_url}/.default"})
    assert confidential.status_code == 400 and confidential.json()["error_codes"] == [9002326]
    keys = https.get(identity.jwks_url(), headers=origin)
    assert keys.headers["access-control-allow-origin"] == "*"
