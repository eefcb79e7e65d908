"""`--auth entra`: which bearer tokens the emulator accepts, what it answers to the others, and
who WhoAmI says the caller is (docs/emulator.md#tokens-and-record-level-security)."""

from __future__ import annotations

import hashlib
import hmac
import json
import ssl
import time

import httpx
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from emulators.dataverse import DataverseEmulator
from tests.support.processes import free_port

WHOAMI = "/api/data/v9.2/WhoAmI"
LEADS = "/api/data/v9.2/leads"


def challenge(identity, secured) -> str:
    return f"Bearer authorization_uri={identity.authority()}/oauth2/authorize, resource_id={secured.url}/"


def assert_refused(response, identity, secured, phrase: str) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["WWW-Authenticate"] == challenge(identity, secured)
    error = response.json()["error"]
    assert set(error) == {"code", "message"} and phrase in error["message"], error
    assert error["code"] == "0x8005F101"


def claims_of(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def test_no_token_is_401_with_the_dataverse_challenge(web, identity, secured):
    response = web.get(secured.url + LEADS)
    assert_refused(response, identity, secured, "no bearer token")
    assert web.get(secured.url + LEADS, headers={"Authorization": "Basic dXNlcjpwYXNz"}).status_code == 401
    [first, second] = secured.requests
    assert (first.status, first.caller, second.status) == (401, None, 401)


def test_expired_and_not_yet_valid_tokens_are_401(web, identity, secured, tokens):
    person = identity.add_user("late.user@contoso.example", "Late User")
    secured.add_user(person.oid, "Late User", access="organization")
    identity.clock_offset = -2 * 3600  # issued two hours ago, expired one hour ago
    expired = tokens.on_behalf_of(person)
    assert claims_of(expired)["exp"] < time.time() - 3000
    assert_refused(web.get(secured.url + WHOAMI, headers={"Authorization": f"Bearer {expired}"}), identity, secured,
                   "expired")
    identity.clock_offset = 3600  # not valid for another hour
    early = tokens.on_behalf_of(person)
    assert_refused(web.get(secured.url + WHOAMI, headers={"Authorization": f"Bearer {early}"}), identity, secured,
                   "not yet valid")
    identity.clock_offset = 120  # within the five minutes of clock skew Dataverse tolerates
    skewed = tokens.on_behalf_of(person)
    assert web.get(secured.url + WHOAMI, headers={"Authorization": f"Bearer {skewed}"}).status_code == 200


def test_a_token_for_another_audience_is_401(web, identity, secured, tokens):
    person = identity.add_user("other.aud@contoso.example", "Other Audience")
    secured.add_user(person.oid, access="organization")
    for_the_api = identity.mint_user_token(person, tokens.middle_tier.client_id, ["Booking.Start"])
    response = web.get(secured.url + LEADS, headers={"Authorization": f"Bearer {for_the_api}"})
    assert_refused(response, identity, secured, "another audience")


def test_the_audience_may_carry_a_trailing_slash(web, identity, secured, tokens):
    """Dataverse accepts its environment URL with or without the trailing slash as the audience."""
    person = identity.add_user("slash.user@contoso.example", "Slash User")
    user_id = secured.add_user(person.oid, access="user")
    token = identity.mint_user_token(person, secured.url, ["user_impersonation"], extra_claims={"aud": secured.url + "/"})
    assert claims_of(token)["aud"] == secured.url + "/"
    response = web.get(secured.url + WHOAMI, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200 and response.json()["UserId"] == user_id


def test_a_forged_signature_is_401(web, identity, secured, tokens):
    alice = tokens.user("alice", access="organization")
    header = jwt.get_unverified_header(alice.token)
    forger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = jwt.encode(claims_of(alice.token), forger, algorithm="RS256", headers={"kid": header["kid"]})
    assert_refused(web.get(secured.url + LEADS, headers={"Authorization": f"Bearer {forged}"}), identity, secured,
                   "signature")
    tampered = alice.token.rsplit(".", 1)[0] + "." + forged.rsplit(".", 1)[1]
    assert web.get(secured.url + LEADS, headers={"Authorization": f"Bearer {tampered}"}).status_code == 401
    assert web.get(secured.url + LEADS, headers=alice.headers).status_code == 200


def test_alg_none_hs256_and_garbage_are_401(web, identity, secured, tokens):
    alice = tokens.user("alice", access="organization")
    claims = claims_of(alice.token)
    unsigned = jwt.encode(claims, None, algorithm="none")
    kid = jwt.get_unverified_header(alice.token)["kid"]
    jwks = httpx.get(identity.jwks_url(), verify=ssl.create_default_context(cafile=identity.ca_path)).json()
    public_key = jwt.PyJWK(next(k for k in jwks["keys"] if k["kid"] == kid)).key
    public_pem = public_key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    # The classic confusion attack: HMAC keyed with the public key. PyJWT itself refuses to sign
    # with a PEM as an HMAC secret, so the signature is computed by hand.
    signing_input = jwt.utils.base64url_encode(json.dumps({"alg": "HS256", "typ": "JWT", "kid": kid}).encode()) + b"." + \
        jwt.utils.base64url_encode(json.dumps(claims).encode())
    mac = hmac.new(public_pem, signing_input, hashlib.sha256).digest()
    symmetric = (signing_input + b"." + jwt.utils.base64url_encode(mac)).decode()
    for token in (unsigned, symmetric, "not.a.token", "x" * 20_000):
        response = web.get(secured.url + LEADS, headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401, token[:40]
        assert response.headers["WWW-Authenticate"] == challenge(identity, secured)


def test_a_token_of_another_tenant_is_401(web, identity, secured):
    foreign = identity.add_tenant()
    identity.add_app("Dataverse (foreign tenant)", tenant_id=foreign, identifier_uris=[secured.url],
                scopes=["user_impersonation"], access_token_version=1)
    person = identity.add_user("visitor@foreign.example", "Visitor", tenant_id=foreign)
    secured.add_user(person.oid, access="organization")  # even a matching oid does not help
    token = identity.mint_user_token(person, secured.url, ["user_impersonation"], tenant_id=foreign)
    assert claims_of(token)["tid"] == foreign
    assert_refused(web.get(secured.url + LEADS, headers={"Authorization": f"Bearer {token}"}), identity, secured,
                   "another tenant")


def test_a_valid_token_without_a_systemuser_is_403(web, secured, tokens):
    stranger = tokens.user("stranger", in_dataverse=False)
    response = web.get(secured.url + WHOAMI, headers=stranger.headers)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "0x80072560"
    daemon = tokens.application("Unregistered daemon", in_dataverse=False)
    assert web.get(secured.url + WHOAMI, headers=daemon.headers).status_code == 403


def test_whoami_answers_the_tokens_systemuser(web, secured, tokens):
    alice, bob = tokens.user("alice"), tokens.user("bob", access="organization")
    daemon = tokens.application("Integration daemon")
    for principal in (alice, bob, daemon):
        response = web.get(secured.url + WHOAMI, headers=principal.headers)
        assert response.status_code == 200, response.text
        assert response.json()["UserId"] == principal.user_id
    assert len({alice.user_id, bob.user_id, daemon.user_id}) == 3
    assert [r.caller for r in secured.requests] == [alice.user_id, bob.user_id, daemon.user_id]
    assert secured.count(caller=alice.user_id) == 1 and secured.count(path="WhoAmI") == 3


def test_keys_are_fetched_once_and_a_rotated_key_is_picked_up(web, identity, secured, tokens):
    alice = tokens.user("alice", access="organization")
    fetches = secured.tokens.key_fetches
    for _ in range(20):
        assert web.get(secured.url + WHOAMI, headers=alice.headers).status_code == 200
    assert secured.tokens.key_fetches - fetches <= 1  # at most the first use in this session
    before = secured.tokens.key_fetches
    identity.rotate_keys(overlap=0)
    rotated = tokens.on_behalf_of(alice.person)
    assert jwt.get_unverified_header(rotated)["kid"] != jwt.get_unverified_header(alice.token)["kid"]
    assert web.get(secured.url + WHOAMI, headers={"Authorization": f"Bearer {rotated}"}).status_code == 200
    assert secured.tokens.key_fetches == before + 1
    # The retired key is gone from the new key set: its tokens no longer hold.
    assert web.get(secured.url + WHOAMI, headers=alice.headers).status_code == 401



def test_an_unknown_key_id_fetches_the_key_set_once(web, identity, secured, tokens):
    alice = tokens.user("alice", access="organization")
    assert web.get(secured.url + WHOAMI, headers=alice.headers).status_code == 200
    forger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = jwt.encode(claims_of(alice.token), forger, algorithm="RS256", headers={"kid": f"unknown-{time.time_ns()}"})
    before = secured.tokens.key_fetches
    for _ in range(3):
        assert_refused(web.get(secured.url + LEADS, headers={"Authorization": f"Bearer {forged}"}), identity, secured,
                       "unknown key")
    assert secured.tokens.key_fetches == before + 1  # the same unknown kid does not make it fetch again


def test_a_disabled_user_is_refused(web, secured, tokens):
    alice = tokens.user("alice", access="organization")
    assert web.get(secured.url + WHOAMI, headers=alice.headers).status_code == 200
    web.patch(secured.url + f"/api/data/v9.2/systemusers({alice.user_id})", json={"isdisabled": True},
              headers=alice.headers).raise_for_status()
    refused = web.get(secured.url + WHOAMI, headers=alice.headers)
    assert refused.status_code == 403 and "disabled" in refused.json()["error"]["message"]


def test_an_unreachable_authority_is_503_not_401(web, identity, tokens):
    """Keys that cannot be read say nothing about the token: the client should retry, not re-authenticate."""
    alice = tokens.user("alice", access="organization")
    with DataverseEmulator(auth="entra", authority=f"https://127.0.0.1:{free_port()}/{identity.tenant_id}",
                           authority_ca=identity.ca_path) as lonely:
        response = web.get(lonely.url + WHOAMI, headers=alice.headers)
    assert response.status_code == 503 and response.headers["Retry-After"] == "5"
    assert response.json()["error"]["code"] == "0x80040216"
