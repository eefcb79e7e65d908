"""The App Service managed-identity protocol with azure-identity's ManagedIdentityCredential and
msal's ManagedIdentityClient, unpatched; and the managed identity as a federated credential."""

from __future__ import annotations

import msal
import pytest
import requests
from azure.core.exceptions import ClientAuthenticationError
from azure.identity import ManagedIdentityCredential

from .oracle import verified_claims


@pytest.fixture
def app_service(identity, monkeypatch):
    """The two settings App Service gives a function app with a managed identity."""
    monkeypatch.setenv("IDENTITY_ENDPOINT", identity.identity_endpoint)
    monkeypatch.setenv("IDENTITY_HEADER", identity.identity_header)
    for name in ("MSI_ENDPOINT", "MSI_SECRET", "IDENTITY_SERVER_THUMBPRINT", "IMDS_ENDPOINT", "AZURE_CLIENT_ID",
                 "AZURE_FEDERATED_TOKEN_FILE"):
        monkeypatch.delenv(name, raising=False)
    return identity


def test_system_assigned_identity_gets_a_token(app_service, registered):
    token = ManagedIdentityCredential().get_token(f"{registered.dataverse_url}/.default")
    claims = verified_claims(app_service, token.token, audience=registered.dataverse_url,
                             issuer=f"{app_service.url}/{app_service.tenant_id}/")
    system = app_service.system_identity
    assert claims["oid"] == system.principal_id and claims["appid"] == system.client_id
    assert claims["xms_mirid"] == system.resource_id and claims["idtyp"] == "app"
    assert token.expires_on == claims["exp"]
    [request] = app_service.token_requests
    assert request.endpoint == "managed_identity" and request.extra["resource"] == registered.dataverse_url


def test_user_assigned_identity_by_client_id_and_the_cache(app_service, registered):
    uami = app_service.add_managed_identity(application_grants={registered.dataverse.client_id: ["Data.ReadWrite"]})
    credential = ManagedIdentityCredential(client_id=uami.client_id)
    first = credential.get_token(f"{registered.dataverse_url}/.default")
    second = credential.get_token(f"{registered.dataverse_url}/.default")
    assert first.token == second.token
    assert app_service.count(endpoint="managed_identity") == 1  # the credential reuses its token
    claims = verified_claims(app_service, first.token, audience=registered.dataverse_url,
                             issuer=f"{app_service.url}/{app_service.tenant_id}/")
    assert claims["appid"] == uami.client_id and claims["roles"] == ["Data.ReadWrite"]


def test_msal_managed_identity_client_by_object_id(app_service, registered):
    uami = app_service.add_managed_identity()
    client = msal.ManagedIdentityClient(msal.UserAssignedManagedIdentity(object_id=uami.principal_id),
                                        http_client=requests.Session())
    result = client.acquire_token_for_client(resource=registered.dataverse_url)
    assert "access_token" in result, result
    claims = verified_claims(app_service, result["access_token"], audience=registered.dataverse_url,
                             issuer=f"{app_service.url}/{app_service.tenant_id}/")
    assert claims["oid"] == uami.principal_id


def test_wrong_identity_header_is_refused(app_service, registered, monkeypatch):
    monkeypatch.setenv("IDENTITY_HEADER", "stale-header-value")
    with pytest.raises(ClientAuthenticationError):
        ManagedIdentityCredential().get_token(f"{registered.dataverse_url}/.default")
    assert app_service.count(endpoint="managed_identity", status=401) >= 1
    assert app_service.count(endpoint="managed_identity", status=200) == 0


def test_raw_protocol_answer_shape_and_errors(app_service, registered, https):
    url, header = app_service.identity_endpoint, {"X-IDENTITY-HEADER": app_service.identity_header}
    ok = https.get(url, params={"resource": registered.dataverse_url, "api-version": "2019-08-01"}, headers=header)
    body = ok.json()
    assert ok.status_code == 200 and body["token_type"] == "Bearer" and body["resource"] == registered.dataverse_url
    assert isinstance(body["expires_on"], str) and body["expires_on"].isdigit()
    assert https.get(url, params={"resource": registered.dataverse_url, "api-version": "2017-09-01"},
                     headers=header).status_code == 400
    two = https.get(url, params={"resource": registered.dataverse_url, "api-version": "2019-08-01",
                                 "client_id": "a", "mi_res_id": "b"}, headers=header)
    assert two.status_code == 400 and two.json()["statusCode"] == 400
    unknown = https.get(url, params={"resource": "https://nowhere.example", "api-version": "2019-08-01"},
                        headers=header)
    assert unknown.status_code == 400 and "AADSTS500011" in unknown.json()["message"]
    assert https.get(url, params={"resource": registered.dataverse_url, "api-version": "2019-08-01"}) \
        .status_code == 401


def test_managed_identity_as_federated_credential_for_a_confidential_client(app_service, registered):
    """Secretless: the UAMI's token for api://AzureADTokenExchange is the app's client assertion."""
    uami = app_service.add_managed_identity()
    app_service.trust_managed_identity(registered.api, uami)
    mi = ManagedIdentityCredential(client_id=uami.client_id)

    def assertion() -> str:
        return mi.get_token("api://AzureADTokenExchange/.default").token

    exchange = verified_claims(app_service, assertion(), audience="api://AzureADTokenExchange")
    assert exchange["sub"] == uami.principal_id and exchange["iss"] == app_service.issuer()
    app = msal.ConfidentialClientApplication(
        registered.api.client_id, client_credential={"client_assertion": assertion},
        authority=app_service.authority(), instance_discovery=False)
    result = app.acquire_token_for_client([f"{registered.dataverse_url}/.default"])
    assert "access_token" in result, result
    claims = verified_claims(app_service, result["access_token"], audience=registered.dataverse_url,
                             issuer=f"{app_service.url}/{app_service.tenant_id}/")
    assert claims["appid"] == registered.api.client_id and claims["appidacr"] == "2"


def test_federated_assertion_from_an_untrusted_identity_is_refused(app_service, registered):
    trusted, other = app_service.add_managed_identity(), app_service.add_managed_identity()
    app_service.trust_managed_identity(registered.api, trusted)
    token = ManagedIdentityCredential(client_id=other.client_id).get_token("api://AzureADTokenExchange/.default").token
    app = msal.ConfidentialClientApplication(
        registered.api.client_id, client_credential={"client_assertion": lambda: token},
        authority=app_service.authority(), instance_discovery=False)
    result = app.acquire_token_for_client([f"{registered.dataverse_url}/.default"])
    assert result["error_codes"] == [70021]


def test_azure_storage_tokens_carry_entra_ids_public_v1_issuer(app_service, registered):
    """add_azure_storage: Azure Storage's resource and app id, v1 tokens whose issuer is Entra ID's
    (https://sts.windows.net/{tid}/), as a storage emulator checking the issuer wants; other v1
    resources keep the stand-in's own issuer."""
    storage = app_service.add_azure_storage()
    assert app_service.add_azure_storage() is storage  # registered once
    assert storage.client_id == "e406a681-f3d4-42a8-90b6-c2b029497af1"
    token = ManagedIdentityCredential().get_token("https://storage.azure.com/.default")
    claims = verified_claims(app_service, token.token, audience="https://storage.azure.com",
                             issuer=f"https://sts.windows.net/{app_service.tenant_id}/")
    assert claims["ver"] == "1.0" and claims["appid"] == app_service.system_identity.client_id
    other = ManagedIdentityCredential().get_token(f"{registered.dataverse_url}/.default")
    verified_claims(app_service, other.token, audience=registered.dataverse_url,
                    issuer=f"{app_service.url}/{app_service.tenant_id}/")
