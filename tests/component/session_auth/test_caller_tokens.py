"""The session route in entra mode: which tokens open a session, and that a refused one costs nothing.

Tokens come from the Entra ID stand-in over https (or are forged from its keys); the app
validates them with its own code. Every refused token is checked to have cost zero Dataverse
requests, zero booking requests and zero token exchanges.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import ssl
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.component.session_auth.calls import post_as, regarding
from tests.support.booking import session_requests
from tests.support.handlers import answer

ANA = {"firstname": "Ana", "lastname": "Diaz", "emailaddress1": "ana.diaz@example.com"}


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def parts(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    header, payload, _ = token.split(".")
    return json.loads(unb64url(header)), json.loads(unb64url(payload))


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def unsigned(header: dict[str, Any], claims: dict[str, Any]) -> bytes:
    return f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(claims).encode())}".encode()


def public_pem(identity: Any, kid: str) -> bytes:
    keys = httpx.get(identity.jwks_url(), verify=ssl.create_default_context(cafile=identity.ca_path)).json()["keys"]
    [jwk] = [k for k in keys if k["kid"] == kid]
    return jwt.PyJWK(jwk).key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


@pytest.fixture
def lead_id(dataverse: Any) -> str:
    return dataverse.insert("leads", {**ANA, "subject": "Mortgage"})


def assert_cost_nothing(dataverse: Any, sandbox: Any, identity: Any) -> None:
    assert dataverse.count() == 0
    assert session_requests(sandbox) == []
    assert identity.count(endpoint="token") == 0


async def test_a_users_token_opens_a_session_read_as_that_user(
    entra_root, dataverse, sandbox, identity, tenant, user_token, lead_id
) -> None:
    response = await post_as(entra_root, f"Bearer {user_token()}", regarding("lead", lead_id))

    assert response.status_code == 201, response.get_body()
    assert answer(response)["sessionId"]
    [sent] = session_requests(sandbox)
    assert sent["headers"]["authorization"] == "Bearer sandbox-api-key-7f3a"  # the booking API: the app's own key
    [read] = [r for r in dataverse.requests if "/leads(" in r.path]
    scheme, obo = read.headers["authorization"].split(" ", 1)
    _, claims = parts(obo)
    assert scheme == "Bearer"
    assert claims["oid"] == tenant.alice.oid and claims["aud"] == dataverse.url
    assert claims["scp"] == "user_impersonation" and claims["appid"] == tenant.api.client_id
    assert identity.count(endpoint="token", grant_type="urn:ietf:params:oauth:grant-type:jwt-bearer") == 1


async def test_repeated_requests_of_one_user_reuse_one_exchanged_token(
    entra_root, dataverse, sandbox, identity, tenant, user_token, lead_id
) -> None:
    for _ in range(4):
        response = await post_as(entra_root, f"Bearer {user_token()}", regarding("lead", lead_id))
        assert response.status_code == 201, response.get_body()
    assert identity.count(endpoint="token") == 1
    second_user = await post_as(entra_root, f"Bearer {user_token(tenant.bob)}", regarding("lead", lead_id))
    assert second_user.status_code == 201
    assert identity.count(endpoint="token") == 2
    oids = {parts(r.headers["authorization"].split(" ", 1)[1])[1]["oid"]
            for r in dataverse.requests if "/leads(" in r.path}
    assert oids == {tenant.alice.oid, tenant.bob.oid}


async def test_concurrent_first_requests_of_one_user_share_one_exchange(
    entra_root, dataverse, sandbox, identity, user_token, lead_id
) -> None:
    token = user_token()
    answers = await asyncio.gather(*(post_as(entra_root, f"Bearer {token}", regarding("lead", lead_id)) for _ in range(4)))

    assert [a.status_code for a in answers] == [201] * 4
    assert identity.count(endpoint="token") == 1


@pytest.mark.parametrize("authorization", [
    None, "", "Bearer", "Bearer ", "Basic YWxhZGRpbjpvcGVuc2VzYW1l", "Bearer not-a-jwt", "Bearer a.b.c",
    "Bearer " + "A" * 20_000,
])
async def test_a_missing_or_malformed_token_is_401(entra_root, dataverse, sandbox, identity, lead_id, authorization) -> None:
    response = await post_as(entra_root, authorization, regarding("lead", lead_id))

    assert response.status_code == 401, response.get_body()
    assert response.headers["WWW-Authenticate"].startswith('Bearer error="invalid_token"')
    assert response.mimetype == "application/problem+json"
    assert answer(response)["status"] == 401
    assert_cost_nothing(dataverse, sandbox, identity)


async def test_expired_and_not_yet_valid_tokens_are_401_beyond_five_minutes_of_skew(
    entra_root, dataverse, sandbox, identity, user_token, lead_id
) -> None:
    identity.clock_offset = -(3600 + 400)  # expired 400 s ago
    expired = user_token(lifetime=3600)
    identity.clock_offset = 600  # valid from 10 minutes in the future
    early = user_token()
    identity.clock_offset = -(3600 + 200)  # expired 200 s ago: inside the allowed skew
    barely_expired = user_token(lifetime=3600)
    identity.clock_offset = 0

    for token in (expired, early):
        response = await post_as(entra_root, f"Bearer {token}", regarding("lead", lead_id))
        assert response.status_code == 401, response.get_body()
        assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]
    assert_cost_nothing(dataverse, sandbox, identity)
    # The refusals above are about time: within five minutes of skew our check passes; Entra ID
    # then refuses the expired assertion (AADSTS500133), which is a 401 too, not a 502.
    within_skew = await post_as(entra_root, f"Bearer {barely_expired}", regarding("lead", lead_id))
    assert within_skew.status_code == 401, within_skew.get_body()
    assert identity.count(endpoint="token", status=400) == 1
    assert (await post_as(entra_root, f"Bearer {user_token()}", regarding("lead", lead_id))).status_code == 201
    reused = await post_as(entra_root, f"Bearer {barely_expired}", regarding("lead", lead_id))
    assert reused.status_code == 201, reused.get_body()  # the user's exchanged token is cached: no new exchange


async def test_foreign_tenant_and_wrong_audience_tokens_are_401(
    entra_root, dataverse, sandbox, identity, tenant, user_token, lead_id
) -> None:
    other_tenant = identity.add_tenant()
    stranger = identity.add_user(f"x.{other_tenant[:8]}@fabrikam.example", "Foreign User", tenant_id=other_tenant)
    mirror = identity.add_app("Foreign API", tenant_id=other_tenant, identifier_uris=[f"api://mirror-{other_tenant[:8]}"],
                              scopes=["Booking.Start"])
    other_api = identity.add_app("Other API", identifier_uris=[f"api://other-{other_tenant[:8]}"], scopes=["Booking.Start"])
    # Signed by the stand-in's real keys (shared by all tenants, as in Entra ID), aimed at our API:
    foreign_issuer = identity.mint_user_token(stranger, mirror.client_id, ["Booking.Start"], tenant_id=other_tenant,
                                              extra_claims={"aud": tenant.api.client_id})
    foreign_tid = user_token(extra_claims={"tid": other_tenant})
    wrong_audience = identity.mint_user_token(tenant.alice, other_api.client_id, ["Booking.Start"])

    for token in (foreign_issuer, foreign_tid, wrong_audience):
        response = await post_as(entra_root, f"Bearer {token}", regarding("lead", lead_id))
        assert response.status_code == 401, response.get_body()
        assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]
    assert_cost_nothing(dataverse, sandbox, identity)


async def test_forged_signatures_none_and_hs256_are_401(
    entra_root, dataverse, sandbox, identity, user_token, lead_id
) -> None:
    header, claims = parts(user_token())
    stranger_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    wrong_signature = jwt.encode(claims, stranger_key, algorithm="RS256", headers={"kid": header["kid"]})
    alg_none = unsigned({"alg": "none", "typ": "JWT", "kid": header["kid"]}, claims).decode() + "."
    signing_input = unsigned({"alg": "HS256", "typ": "JWT", "kid": header["kid"]}, claims)
    hs256_public_key = signing_input.decode() + "." + b64url(
        hmac.new(public_pem(identity, header["kid"]), signing_input, hashlib.sha256).digest())
    genuine = user_token().split(".")
    payload_swapped = ".".join([genuine[0], b64url(json.dumps({**claims, "oid": claims["oid"][::-1]}).encode()), genuine[2]])

    for token in (wrong_signature, alg_none, hs256_public_key, payload_swapped):
        response = await post_as(entra_root, f"Bearer {token}", regarding("lead", lead_id))
        assert response.status_code == 401, (token[:30], response.get_body())
        assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]
    assert_cost_nothing(dataverse, sandbox, identity)


@pytest.fixture
def app_only_token(identity, tenant) -> str:
    """A daemon's token for the session API from the client-credentials grant: roles, no scp."""
    daemon = identity.add_app("Daemon", application_grants={tenant.api.client_id: ["Booking.Admin"]})
    secret = daemon.add_secret()
    token = httpx.post(identity.token_url(), verify=ssl.create_default_context(cafile=identity.ca_path), data={
        "grant_type": "client_credentials", "client_id": daemon.client_id, "client_secret": secret,
        "scope": f"{tenant.api_uri}/.default",
    }).json()["access_token"]
    assert "scp" not in parts(token)[1] and parts(token)[1]["roles"] == ["Booking.Admin"]
    identity.reset()
    return token


async def test_a_valid_token_without_the_scope_is_403(
    entra_root, dataverse, sandbox, identity, user_token, app_only_token, lead_id
) -> None:
    app_only = app_only_token

    for token in (user_token(scopes=("Other.Read",)), app_only):
        response = await post_as(entra_root, f"Bearer {token}", regarding("lead", lead_id))
        assert response.status_code == 403, response.get_body()
        challenge = response.headers["WWW-Authenticate"]
        assert challenge.startswith('Bearer error="insufficient_scope"') and 'scope="Booking.Start"' in challenge
        assert answer(response)["status"] == 403
    assert_cost_nothing(dataverse, sandbox, identity)


async def test_a_rotated_signing_key_is_accepted_without_restart_and_unknown_kids_are_rate_limited(
    entra_root, dataverse, sandbox, identity, user_token, lead_id
) -> None:
    assert (await post_as(entra_root, f"Bearer {user_token()}", regarding("lead", lead_id))).status_code == 201
    assert identity.keys_served == 1
    identity.rotate_keys(overlap=0)

    rotated = await post_as(entra_root, f"Bearer {user_token()}", regarding("lead", lead_id))

    assert rotated.status_code == 201, rotated.get_body()
    assert identity.keys_served == 2
    _, claims = parts(user_token())
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    for index in range(10):
        forged = jwt.encode(claims, key, algorithm="RS256", headers={"kid": f"forged-{index}"})
        assert (await post_as(entra_root, f"Bearer {forged}", regarding("lead", lead_id))).status_code == 401
    assert identity.keys_served == 2  # the refresh for an unknown kid was spent on the rotation


async def test_keys_unreachable_is_503_not_401(entra_env, dataverse, sandbox, identity, user_token, lead_id) -> None:
    from entry.composition_root import CompositionRoot

    entra_env["ENTRA_AUTHORITY"] = "https://127.0.0.1:9"
    response = await post_as(CompositionRoot(entra_env), f"Bearer {user_token()}", regarding("lead", lead_id))

    assert response.status_code == 503, response.get_body()
    assert 1 <= int(response.headers["Retry-After"]) <= 300
    assert dataverse.count() == 0 and session_requests(sandbox) == []


async def test_a_token_check_precedes_the_body_check(entra_root, dataverse, identity, sandbox) -> None:
    response = await post_as(entra_root, None, {"regarding": "nonsense"})
    assert response.status_code == 401
    assert_cost_nothing(dataverse, sandbox, identity)
