"""The identity-based storage connection end to end (docs/storage.md#connecting): the app's StorageAccount,
configured only by ``AzureWebJobsStorage__{blob,queue,table}ServiceUri`` and ``__credential=managedidentity``,
gets bearer tokens from the App Service managed-identity endpoint (``IDENTITY_ENDPOINT`` /
``IDENTITY_HEADER`` of the Entra ID stand-in) and uses tables, queues, blobs and leases with them.

Azurite serves https with ``--oauth basic`` (tests/support/azurite.py): it refuses a token that is expired,
not issued by Entra ID (``https://sts.windows.net/...``) or not for Azure Storage; it does not check the
signature, so the claims are checked here against the stand-in's published keys. The stand-in registers
Azure Storage as Entra ID has it (``add_azure_storage``: v1 tokens, Entra ID's public v1 issuer).
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import azure.functions as func
import jwt
import pytest

from emulators.identity import IdentityStandIn
from entry.composition_root import CompositionRoot
from storage_client import StorageAccount, StorageRefused, storage_connection
from tests.support.azurite import Azurite, require_azurite, running_azurite
from tests.support.handlers import app_handler, call_handler, webhook_request
from tests.support.webhooks import event, signed_headers
from tools.local_tls import generate

STORAGE = "https://storage.azure.com"


@pytest.fixture(scope="module")
def stand_in() -> Iterator[IdentityStandIn]:
    with IdentityStandIn() as idp:
        idp.add_azure_storage()
        yield idp


@pytest.fixture(scope="module")
def oauth_azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Azurite]:
    """Azurite over https, checking bearer tokens; its own CA."""
    require_azurite()
    with running_azurite(tls=generate(tmp_path_factory.mktemp("azurite-tls"))) as azurite:
        yield azurite


@pytest.fixture(scope="module")
def ca_bundle(stand_in: IdentityStandIn, oauth_azurite: Azurite, tmp_path_factory: pytest.TempPathFactory) -> str:
    """Both local CAs (the stand-in's and Azurite's) in one PEM file, as ``SSL_CERT_FILE`` would name it."""
    bundle = tmp_path_factory.mktemp("ca") / "bundle.pem"
    bundle.write_text(Path(stand_in.ca_path).read_text() + Path(str(oauth_azurite.ca_path)).read_text())
    return str(bundle)


@pytest.fixture
def app_service(stand_in: IdentityStandIn, monkeypatch: pytest.MonkeyPatch) -> Iterator[IdentityStandIn]:
    """The two settings App Service gives an app with a managed identity (azure-identity reads the process
    environment); a reset stand-in whose Azure Storage registration is put back after the test."""
    stand_in.reset()
    monkeypatch.setenv("IDENTITY_ENDPOINT", stand_in.identity_endpoint)
    monkeypatch.setenv("IDENTITY_HEADER", stand_in.identity_header)
    for name in ("MSI_ENDPOINT", "MSI_SECRET", "IDENTITY_SERVER_THUMBPRINT", "IMDS_ENDPOINT", "AZURE_CLIENT_ID",
                 "AZURE_FEDERATED_TOKEN_FILE"):
        monkeypatch.delenv(name, raising=False)
    storage_app = stand_in.add_azure_storage()
    yield stand_in
    storage_app.audience = None


def identity_settings(azurite: Azurite) -> dict[str, str]:
    """Only the identity-based form of the setting: no key, no SAS, no connection string."""
    return {
        "AzureWebJobsStorage__blobServiceUri": azurite.blob_endpoint,
        "AzureWebJobsStorage__queueServiceUri": azurite.queue_endpoint,
        "AzureWebJobsStorage__tableServiceUri": azurite.table_endpoint,
        "AzureWebJobsStorage__credential": "managedidentity",
    }


class Wire:
    """The ``Authorization`` header of every storage request the SDK sent (``raw_response_hook``)."""

    def __init__(self) -> None:
        self.authorizations: list[str | None] = []

    def hook(self, response: Any) -> None:  # a response hook: the request as sent, after the bearer policy
        self.authorizations.append(response.http_request.headers.get("Authorization"))

    @property
    def bearer_tokens(self) -> set[str]:
        return {a.removeprefix("Bearer ") for a in self.authorizations if a and a.startswith("Bearer ")}


@pytest.fixture
def wire() -> Wire:
    return Wire()


@pytest.fixture
async def account(app_service: IdentityStandIn, oauth_azurite: Azurite, ca_bundle: str,
                  wire: Wire) -> AsyncIterator[StorageAccount]:
    connection = storage_connection(identity_settings(oauth_azurite))
    assert connection is not None and connection.uses_identity and connection.managed_identity
    storage = StorageAccount(connection, timeout=5,
                             client_options={"connection_verify": ca_bundle, "raw_response_hook": wire.hook})
    yield storage
    await storage.aclose()


def storage_claims(stand_in: IdentityStandIn, token: str) -> dict[str, Any]:
    """The token's claims, its signature checked against the stand-in's published keys (Azurite does not)."""
    import ssl

    context = ssl.create_default_context(cafile=stand_in.ca_path)
    key = jwt.PyJWKClient(stand_in.jwks_url(), cache_jwk_set=False, ssl_context=context).get_signing_key_from_jwt(token)
    return jwt.decode(token, key.key, algorithms=["RS256"], audience=STORAGE,
                      issuer=f"https://sts.windows.net/{stand_in.tenant_id}/")


async def received_messages(azurite: Azurite, ca_bundle: str, queue: str) -> list[str]:
    """What the Functions host would receive from ``queue``, read with a managed-identity token too."""
    from azure.identity.aio import ManagedIdentityCredential
    from azure.storage.queue import TextBase64DecodePolicy
    from azure.storage.queue.aio import QueueClient

    async with ManagedIdentityCredential(connection_verify=ca_bundle) as credential, QueueClient(
        azurite.queue_endpoint, queue, credential=credential, connection_verify=ca_bundle,
        message_decode_policy=TextBase64DecodePolicy(),
    ) as client:
        return [message.content async for message in client.receive_messages(messages_per_page=32)]


async def test_tables_queues_blobs_and_leases_with_managed_identity_tokens(
    account: StorageAccount, app_service: IdentityStandIn, oauth_azurite: Azurite, ca_bundle: str, wire: Wire
) -> None:
    await account.probe()
    table = account.table("identitytable")
    await table.ensure()
    inserted = await table.insert({"PartitionKey": "job1", "RowKey": "job", "status": "queued"})
    updated = await table.update({"PartitionKey": "job1", "RowKey": "job", "status": "done"}, inserted.etag)
    assert await table.get("job1", "job") == {"PartitionKey": "job1", "RowKey": "job", "status": "done"}
    assert (await table.get("job1", "job")).etag == updated.etag

    queue = account.queue("identity-queue")
    await queue.ensure()
    await queue.send('{"job": "job1"}')

    container = account.container("identity-blobs")
    await container.ensure()
    await container.put("payload.json", b'{"rows": 3}')
    assert await container.get("payload.json") == b'{"rows": 3}'
    async with container.lease("locks/agent-7", seconds=15) as lease:
        assert lease.valid()
    await container.delete("payload.json")
    assert await container.get("payload.json") is None

    # Every storage request carried the same bearer token: one managed-identity token for all of them.
    assert len(wire.authorizations) >= 15 and all(a and a.startswith("Bearer ") for a in wire.authorizations)
    [token] = wire.bearer_tokens
    assert app_service.count(endpoint="managed_identity", status=200) == 1
    [request] = app_service.token_requests
    assert request.extra["resource"] == STORAGE
    claims = storage_claims(app_service, token)
    system = app_service.system_identity
    assert system is not None
    assert (claims["appid"], claims["oid"], claims["xms_mirid"]) == (system.client_id, system.principal_id,
                                                                    system.resource_id)
    assert claims["ver"] == "1.0" and claims["idtyp"] == "app"

    assert await received_messages(oauth_azurite, ca_bundle, "identity-queue") == ['{"job": "job1"}']


async def test_a_token_for_another_audience_is_refused(account: StorageAccount, app_service: IdentityStandIn,
                                                       wire: Wire) -> None:
    """The identity's token names another resource (as a token meant for another service would):
    Azurite refuses it (403 AuthenticationFailed) and the app says its credentials were refused."""
    app_service.add_azure_storage().audience = "https://other-resource.example"
    for call in (account.probe, account.table("identitytable").ensure,
                 lambda: account.container("identity-blobs").get("payload.json")):
        with pytest.raises(StorageRefused) as caught:
            await call()
        assert (caught.value.status, caught.value.code, caught.value.retry_after) == (403, "AuthenticationFailed", 30)
        assert "Invalid token audience." in str(caught.value.__cause__)  # Azurite's reason, not the issuer or expiry
    [token] = wire.bearer_tokens
    assert jwt.decode(token, options={"verify_signature": False})["aud"] == "https://other-resource.example"
    assert app_service.count(endpoint="managed_identity", status=200) == 1


async def test_an_expired_token_is_refused(account: StorageAccount, app_service: IdentityStandIn, wire: Wire) -> None:
    """The stand-in's clock two hours behind: the token it issues expired an hour ago."""
    app_service.clock_offset = -7200
    with pytest.raises(StorageRefused) as caught:
        await account.table("identitytable").ensure()
    assert (caught.value.status, caught.value.code, caught.value.retry_after) == (403, "AuthenticationFailed", 30)
    assert "The token is expired." in str(caught.value.__cause__)
    assert wire.bearer_tokens, "the token was sent"
    for token in wire.bearer_tokens:
        assert jwt.decode(token, options={"verify_signature": False})["exp"] < time.time()


@pytest.fixture
def app_settings_with_identity_storage(app_settings: dict[str, str], app_service: IdentityStandIn,
                                       oauth_azurite: Azurite, ca_bundle: str) -> dict[str, str]:
    """The app's settings with storage by identity only; ``SSL_CERT_FILE`` trusts the two local CAs."""
    app_settings.update(identity_settings(oauth_azurite))
    app_settings["SSL_CERT_FILE"] = ca_bundle
    return app_settings


def stored_delivery_records(azurite: Azurite, ca_bundle: str) -> list[dict[str, Any]]:
    """The delivery-records table read with the account key (Azurite accepts both), by a client of the test's own."""
    from azure.data.tables import TableClient

    from integration.appointments.delivery_records import TABLE

    with TableClient.from_connection_string(azurite.connection_string, TABLE, connection_verify=ca_bundle) as client:
        return [row for row in client.list_entities() if not row["PartitionKey"].startswith("appointment-")]


async def health(root: CompositionRoot) -> dict[str, Any]:
    response = await app_handler(root, "health")(func.HttpRequest("GET", "/api/health", body=b""))
    assert response.status_code == 200
    return json.loads(response.get_body())["storage"]


async def test_a_webhook_delivery_is_recorded_through_the_identity_connection(
    app_settings_with_identity_storage: dict[str, str], app_service: IdentityStandIn, oauth_azurite: Azurite,
    ca_bundle: str,
) -> None:
    """Recorded, then the same webhook-id answered from its record (docs/storage.md#webhook-delivery-records)."""
    from integration.appointments.delivery_records import record_key

    root = CompositionRoot(app_settings_with_identity_storage)
    handler = app_handler(root, "appointment_webhook")
    body = json.dumps(event("apt_identity")).encode()
    try:
        first = await call_handler(handler, webhook_request(body, signed_headers(body, msg_id="msg_identity")))
        again = await call_handler(handler, webhook_request(body, signed_headers(body, msg_id="msg_identity")))
        state = await health(root)
    finally:
        await root.aclose()
    assert first.status == 200 and first.body["result"] == "created", first.body
    assert again.status == 200 and again.body["result"] == "unchanged"
    [record] = stored_delivery_records(oauth_azurite, ca_bundle)
    assert (record["PartitionKey"], record["RowKey"]) == record_key("msg_identity")
    assert record["appointment"] == first.body["appointment"]
    assert state["credentialsAccepted"] is True and state["usable"] is True
    assert app_service.count(endpoint="managed_identity", status=200) == 1


async def test_refused_identity_tokens_are_a_503_with_retry_after_30_and_health_says_so(
    app_settings_with_identity_storage: dict[str, str], app_service: IdentityStandIn, oauth_azurite: Azurite,
    ca_bundle: str,
) -> None:
    app_service.add_azure_storage().audience = "https://other-resource.example"
    root = CompositionRoot(app_settings_with_identity_storage)
    try:
        answer = await call_handler(app_handler(root, "appointment_webhook"),
                                    webhook_request(event("apt_refused")))
        state = await health(root)
    finally:
        await root.aclose()
    assert answer.status == 503 and answer.headers["Retry-After"] == "30", answer
    assert answer.mimetype == "application/problem+json" and "AzureWebJobsStorage" in json.dumps(answer.body)
    assert state["reachable"] is True and state["credentialsAccepted"] is False and state["usable"] is False
