"""DATAVERSE_AUTH=azure against the identity stand-in: the app's Dataverse client gets its tokens
from azure-identity (managed identity through the App Service protocol, or a client secret),
reuses them, replaces them before they expire, and answers one 401 with one fresh token and one retry."""

from __future__ import annotations

import pytest
from azure.identity import ClientSecretCredential

from dataverse import DataverseClient
from dataverse.auth import AzureIdentityAuth

from .oracle import verified_claims


@pytest.fixture
def dataverse_resource(identity, dataverse):
    """The Dataverse emulator's URL registered as an API (v1 tokens, aud = the URL, as Dataverse's)."""
    if identity.state.directory.resource(identity.tenant_id, dataverse.url) is None:
        identity.add_app("Dataverse emulator", identifier_uris=[dataverse.url], scopes=["user_impersonation"],
                         access_token_version=1)
    return dataverse.url


@pytest.fixture
def app_service(identity, monkeypatch):
    monkeypatch.setenv("IDENTITY_ENDPOINT", identity.identity_endpoint)
    monkeypatch.setenv("IDENTITY_HEADER", identity.identity_header)
    for name in ("MSI_ENDPOINT", "MSI_SECRET", "IDENTITY_SERVER_THUMBPRINT", "IMDS_ENDPOINT", "AZURE_CLIENT_ID"):
        monkeypatch.delenv(name, raising=False)
    return identity


def bearer_tokens(dataverse) -> list[str]:
    return [r.headers["authorization"].removeprefix("Bearer ") for r in dataverse.requests
            if "authorization" in r.headers]


async def test_managed_identity_tokens_reach_dataverse_and_are_reused(app_service, dataverse, dataverse_resource):
    async with DataverseClient(dataverse.url, auth=AzureIdentityAuth(dataverse.url)) as client:
        lead_id = await client.create("leads", {"subject": "identity test", "lastname": "Tester"})
        await client.retrieve("leads", lead_id, select=["subject"])
        await client.query_all("leads", select=["subject"], top=5)
    tokens = bearer_tokens(dataverse)
    assert len(tokens) == 3 and len(set(tokens)) == 1
    claims = verified_claims(app_service, tokens[0], audience=dataverse.url,
                             issuer=f"{app_service.url}/{app_service.tenant_id}/")
    assert claims["appid"] == app_service.system_identity.client_id
    assert claims["oid"] == app_service.system_identity.principal_id
    assert app_service.count(endpoint="managed_identity", status=200) == 1


async def test_a_token_near_its_expiry_is_replaced_before_use(app_service, dataverse, dataverse_resource):
    """Tokens with less than five minutes left are never sent: each request here gets a fresh one."""
    app_service.token_lifetime = 240
    async with DataverseClient(dataverse.url, auth=AzureIdentityAuth(dataverse.url)) as client:
        for _ in range(3):
            await client.query_all("leads", select=["subject"], top=1)
    assert app_service.count(endpoint="managed_identity", status=200) == 3
    assert len(set(bearer_tokens(dataverse))) == 3


async def test_one_401_gets_one_fresh_token_and_one_retry(app_service, dataverse, dataverse_resource):
    async with DataverseClient(dataverse.url, auth=AzureIdentityAuth(dataverse.url)) as client:
        await client.query_all("leads", select=["subject"], top=1)
        dataverse.faults.fail(1, status=401)
        rows = await client.query_all("leads", select=["subject"], top=1)
    assert isinstance(rows, list)
    assert dataverse.count(method="GET") == 3  # first query, the 401, the retry
    first, refused, retried = bearer_tokens(dataverse)
    assert first == refused and retried != refused
    assert app_service.count(endpoint="managed_identity", status=200) == 2


async def test_client_secret_credential_path(identity, dataverse, dataverse_resource):
    app = identity.add_app("Integration (secret)")
    secret = app.add_secret()
    credential = ClientSecretCredential(identity.tenant_id, app.client_id, secret, authority=identity.url,
                                        disable_instance_discovery=True)
    async with DataverseClient(dataverse.url, auth=AzureIdentityAuth(dataverse.url, credential)) as client:
        await client.query_all("leads", select=["subject"], top=1)
        await client.query_all("leads", select=["subject"], top=1)
    [token] = set(bearer_tokens(dataverse))
    claims = verified_claims(identity, token, audience=dataverse.url, issuer=f"{identity.url}/{identity.tenant_id}/")
    assert claims["appid"] == app.client_id and claims["appidacr"] == "1"
    assert identity.count(grant_type="client_credentials", status=200) == 1


async def test_token_outage_is_a_503_style_unavailable(app_service, dataverse, dataverse_resource):
    from dataverse.errors import Unavailable

    app_service.fail_next(50, status=503)
    async with DataverseClient(dataverse.url, auth=AzureIdentityAuth(dataverse.url)) as client:
        with pytest.raises(Unavailable) as caught:
            await client.query_all("leads", select=["subject"], top=1)
    assert caught.value.retry_after is not None and 0 < caught.value.retry_after <= 60
    assert dataverse.count() == 0  # no Dataverse request without a token
    assert 1 <= app_service.count(endpoint="managed_identity", status=503) <= 10  # azure-identity's own retries
