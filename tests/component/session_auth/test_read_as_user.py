"""Entra mode: what the signed-in user may book for is what Dataverse lets them read.

The user's reads (the customer, the appointment of a reschedule) carry their on-behalf-of
token; the app proves itself to Entra ID with a client secret or, secretless, with its
managed identity's token as a client assertion.
"""

from __future__ import annotations

import base64
import json
import ssl
from typing import Any

from tests.component.session_auth.calls import post_as, regarding
from tests.support.booking import session_requests
from tests.support.handlers import booked

ANA = {"firstname": "Ana", "lastname": "Diaz", "emailaddress1": "ana.diaz@example.com"}
BO = {"firstname": "Bo", "lastname": "Li", "emailaddress1": "bo.li@example.com"}
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"


def claims_of(authorization: str) -> dict[str, Any]:
    payload = authorization.split(" ", 1)[1].split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def user_reads(dataverse: Any) -> list[Any]:
    return [r for r in dataverse.requests if "/leads(" in r.path or "/appointments(" in r.path]


async def test_secretless_the_managed_identity_is_the_apps_client_assertion(
    entra_env, dataverse, sandbox, identity, tenant, user_token, monkeypatch
) -> None:
    from entry.composition_root import CompositionRoot

    managed = identity.add_managed_identity()
    identity.trust_managed_identity(tenant.api, managed)
    monkeypatch.setenv("IDENTITY_ENDPOINT", identity.identity_endpoint)
    monkeypatch.setenv("IDENTITY_HEADER", identity.identity_header)
    monkeypatch.setenv("SSL_CERT_FILE", identity.ca_path)  # the validator's httpx trusts the stand-in this way
    del entra_env["ENTRA_CLIENT_SECRET"]
    entra_env["AZURE_CLIENT_ID"] = managed.client_id
    lead = dataverse.insert("leads", {**ANA, "subject": "A"})

    for _ in range(2):
        response = await post_as(CompositionRoot(entra_env), f"Bearer {user_token()}", regarding("lead", lead))
        assert response.status_code == 201, response.get_body()

    [read, *_] = user_reads(dataverse)
    assert claims_of(read.headers["authorization"])["oid"] == tenant.alice.oid
    assert identity.count(endpoint="managed_identity", client_id=managed.client_id, status=200) >= 1
    assert identity.count(endpoint="token", grant_type=JWT_BEARER, status=200) == 2  # a new root: its own cache


async def test_an_appointment_of_another_record_is_404_when_read_as_the_user(
    entra_root, app_root, dataverse, sandbox, tenant, user_token
) -> None:
    ana, bo = dataverse.insert("leads", {**ANA, "subject": "A"}), dataverse.insert("leads", {**BO, "subject": "B"})
    await booked(app_root, "apt_of_bo", "lead", bo)
    await booked(app_root, "apt_of_ana", "lead", ana)
    sandbox.reset()

    hijack = await post_as(entra_root, f"Bearer {user_token()}", regarding("lead", ana, "apt_of_bo"))
    unknown = await post_as(entra_root, f"Bearer {user_token()}", regarding("lead", ana, "apt_nobody_booked"))
    own = await post_as(entra_root, f"Bearer {user_token()}", regarding("lead", ana, "apt_of_ana"))

    assert (hijack.status_code, unknown.status_code) == (404, 404)
    # The app's own requests (the webhook, through the same root) keep DATAVERSE_AUTH: here none.
    await booked(entra_root, "apt_later", "lead", ana)
    assert all("authorization" not in r.headers for r in dataverse.requests if r.method != "GET")
    assert own.status_code == 201, own.get_body()
    [sent] = session_requests(sandbox)
    assert sent["json"]["appointmentId"] == "apt_of_ana"
    appointment_reads = [r for r in dataverse.requests if r.method == "GET" and "/appointments(" in r.path]
    assert len(appointment_reads) == 3
    assert {claims_of(r.headers["authorization"])["oid"] for r in appointment_reads} == {tenant.alice.oid}


async def test_a_record_dataverse_refuses_the_user_is_404_and_no_session(
    entra_root, dataverse, sandbox, identity, user_token
) -> None:
    lead = dataverse.insert("leads", {**ANA, "subject": "A"})
    dataverse.faults.fail(1, status=403, method="GET")  # Dataverse's answer to a read outside the user's access

    response = await post_as(entra_root, f"Bearer {user_token()}", regarding("lead", lead))

    assert response.status_code == 404, response.get_body()
    assert session_requests(sandbox) == []


async def test_a_user_under_conditional_access_gets_401_with_the_claims_challenge(
    entra_root, dataverse, sandbox, identity, tenant
) -> None:
    guarded = identity.add_user(f"mfa.{tenant.api.client_id[:8]}@contoso.example", "MFA User", requires_interaction=True)
    token = identity.mint_user_token(guarded, tenant.api.client_id, ["Booking.Start"], client_id=tenant.spa.client_id)
    lead = dataverse.insert("leads", {**ANA, "subject": "A"})

    response = await post_as(entra_root, f"Bearer {token}", regarding("lead", lead))

    assert response.status_code == 401, response.get_body()
    challenge = response.headers["WWW-Authenticate"]
    assert 'error="invalid_token"' in challenge and "interaction_required" in challenge
    [encoded] = [part.split('"')[1] for part in challenge.split(", ") if part.startswith("claims=")]
    assert "access_token" in json.loads(base64.b64decode(encoded))  # Conditional Access's challenge, passed on
    assert dataverse.count() == 0 and session_requests(sandbox) == []


async def test_record_level_security_decides_what_each_user_may_book_for(
    booking_env, sandbox, identity, tenant, user_token
) -> None:
    """User A owns a lead; user B has user-level access only: B's request is a 404 with no booking call.

    The Dataverse emulator runs in entra mode: it validates the on-behalf-of tokens against the
    stand-in and applies its record-level security (docs/emulator.md), so Dataverse, not the
    app, decides what each user may read.
    """
    from emulators.dataverse import DataverseEmulator
    from emulators.identity.directory import new_id
    from entry.composition_root import CompositionRoot

    with DataverseEmulator(auth="entra", authority=identity.authority(), authority_ca=identity.ca_path) as secured:
        crm = identity.add_app("Dataverse (secured)", identifier_uris=[secured.url], scopes=["user_impersonation"],
                               access_token_version=1)
        tenant.api.delegated_grants[crm.client_id] = ["user_impersonation"]  # admin consent
        owner = secured.add_user(tenant.alice.oid, "Session User A", access="user")
        secured.add_user(tenant.bob.oid, "Session User B", access="user")
        lead = secured.insert("leads", {**ANA, "subject": f"A {new_id()[:4]}", "ownerid@odata.bind": f"/systemusers({owner})"})
        settings = {**booking_env, "DATAVERSE_URL": secured.url, "SESSION_AUTH": "entra",
                    "ENTRA_AUTHORITY": identity.url, "ENTRA_TENANT_ID": identity.tenant_id,
                    "SESSION_API_AUDIENCE": tenant.api.client_id, "ENTRA_CLIENT_ID": tenant.api.client_id,
                    "ENTRA_CLIENT_SECRET": tenant.api_secret}
        root = CompositionRoot(settings, entra_options={"verify": ssl.create_default_context(cafile=identity.ca_path)})
        own = await post_as(root, f"Bearer {user_token(tenant.alice)}", regarding("lead", lead))
        others = await post_as(root, f"Bearer {user_token(tenant.bob)}", regarding("lead", lead))
        callers = {entry.caller for entry in secured.requests if entry.caller}

    assert own.status_code == 201, own.get_body()
    assert others.status_code == 404, others.get_body()
    assert len(session_requests(sandbox)) == 1  # only A's request reached the booking API
    assert len(callers) == 2  # Dataverse saw each user as themselves, never the app
