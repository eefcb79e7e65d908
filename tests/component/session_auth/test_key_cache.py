"""The token validator's key cache at the edges the identity stand-in cannot produce (respx):
a key set that is garbage, too large or unreachable, and a refresh failing while keys are known."""

from __future__ import annotations

import json
import time

import httpx
import jwt
import pytest
import respx
from cryptography.hazmat.primitives.asymmetric import rsa

from entra_client.access_tokens import KEYS_MAX_AGE, MAX_JWKS_BYTES, AccessTokenValidator
from entra_client.errors import EntraUnavailable, InsufficientScope, InvalidToken

TENANT = "0b6c3c8a-51a4-4b6f-9a1e-2f6f3f7e5d11"
AUTHORITY = "https://login.example.test"
JWKS = f"{AUTHORITY}/{TENANT}/discovery/v2.0/keys"
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def jwk_set(kid: str = "k1") -> dict:
    public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(KEY.public_key()))
    return {"keys": [{**public, "kid": kid, "use": "sig"}]}


def token(kid: str = "k1", **claims: object) -> str:
    now = int(time.time())
    body = {"iss": f"{AUTHORITY}/{TENANT}/v2.0", "aud": "api://sessions", "tid": TENANT,
            "oid": "8d3f0c1e-0000-4000-8000-000000000001", "scp": "Booking.Start", "iat": now, "nbf": now,
            "exp": now + 3600, **claims}
    return "Bearer " + jwt.encode(body, KEY, algorithm="RS256", headers={"kid": kid})


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def validator(clock: Clock | None = None) -> AccessTokenValidator:
    return AccessTokenValidator(tenant_id=TENANT, issuer=f"{AUTHORITY}/{TENANT}/v2.0", jwks_url=JWKS,
                                audiences=["api://sessions"], scope="Booking.Start", clock=clock or time.time)


@pytest.mark.parametrize("answer", [
    httpx.Response(200, text="<html>sign in</html>"),
    httpx.Response(200, json={"keys": "none"}),
    httpx.Response(200, json={"keys": [{"kty": "EC", "kid": "k1"}, {"kty": "RSA", "kid": "k2", "n": "x", "e": "y"}]}),
    httpx.Response(200, content=b'{"keys": [' + b" " * MAX_JWKS_BYTES + b"]}"),
    httpx.Response(503),
    httpx.ConnectError("refused"),
])
@respx.mock
async def test_no_usable_key_set_is_an_outage_not_a_refused_token(answer) -> None:
    route = respx.get(JWKS)
    route.side_effect = answer if isinstance(answer, Exception) else None
    if not isinstance(answer, Exception):
        route.return_value = answer
    with pytest.raises(EntraUnavailable):
        await validator().validate(token())


@respx.mock
async def test_known_keys_stay_in_use_when_a_refresh_fails() -> None:
    clock = Clock()
    route = respx.get(JWKS).mock(return_value=httpx.Response(200, json=jwk_set()))
    check = validator(clock)
    assert (await check.validate(token())).tenant_id == TENANT

    clock.now += KEYS_MAX_AGE + 1  # the hourly refresh is due, and the key set is down
    route.mock(return_value=httpx.Response(503))
    assert (await check.validate(token())).tenant_id == TENANT
    assert route.call_count == 2
    with pytest.raises(InvalidToken):  # an unknown kid is still refused
        await check.validate(token(kid="k9"))


@respx.mock
async def test_an_unknown_kid_refreshes_once_per_interval() -> None:
    clock = Clock()
    route = respx.get(JWKS).mock(return_value=httpx.Response(200, json=jwk_set()))
    check = validator(clock)
    await check.validate(token())
    for index in range(5):
        with pytest.raises(InvalidToken):
            await check.validate(token(kid=f"forged-{index}"))
    assert route.call_count == 2
    clock.now += 61
    route.mock(return_value=httpx.Response(200, json=jwk_set("k2")))
    assert (await check.validate(token(kid="k2"))).object_id.startswith("8d3f0c1e")
    assert route.call_count == 3


@respx.mock
async def test_claims_of_the_wrong_type_are_refused() -> None:
    respx.get(JWKS).mock(return_value=httpx.Response(200, json=jwk_set()))
    check = validator()
    for claims in ({"oid": "not-a-guid"}, {"tid": None}, {"scp": ["Booking.Start"]}, {"exp": "soon"},
                   {"aud": "api://other"}, {"iss": f"{AUTHORITY}/{TENANT}/"}):
        with pytest.raises((InvalidToken, InsufficientScope)):
            await check.validate(token(**claims))


@respx.mock
async def test_an_unreadable_key_set_is_not_asked_again_for_every_request() -> None:
    clock = Clock()
    route = respx.get(JWKS).mock(side_effect=httpx.ConnectError("refused"))
    check = validator(clock)
    for _ in range(3):
        with pytest.raises(EntraUnavailable) as raised:
            await check.validate(token())
    assert route.call_count == 1
    assert 0 < raised.value.retry_after <= 10
    clock.now += 11
    route.mock(return_value=httpx.Response(200, json=jwk_set()))
    assert (await check.validate(token())).tenant_id == TENANT
    assert route.call_count == 2
