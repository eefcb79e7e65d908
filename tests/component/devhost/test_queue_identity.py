"""Queue triggers over identity-based connections (docs/local-host.md#queue-and-timer-triggers), as the host runs them:
``<connection>__queueServiceUri`` (or ``__serviceUri``, ``__accountName``) with ``__credential=managedidentity``.

Azurite serves https with the Entra ID stand-in's server certificate and checks bearer tokens
(``--oauth basic``), as under ``make run``; the devhost's listeners get their tokens from the stand-in's
managed-identity endpoint (``IDENTITY_ENDPOINT``/``IDENTITY_HEADER``) and trust its CA (``SSL_CERT_FILE``).
No setting holds a key: only the test's own producer client uses one.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from azure.storage.queue import QueueClient, TextBase64DecodePolicy, TextBase64EncodePolicy

from devhost import DevHost
from devhost.storage_connection import ConnectionSettingError, queue_connection
from emulators.identity import IdentityStandIn
from tests.component.devhost.queue_app import records, write_queue_app
from tests.support.azurite import Azurite, require_azurite, running_azurite
from tests.support.polling import wait_until
from tools.local_tls import TlsFiles

STORAGE = "https://storage.azure.com"


@pytest.fixture(scope="module")
def stand_in(tmp_path_factory: pytest.TempPathFactory) -> Iterator[IdentityStandIn]:
    with IdentityStandIn(cert_dir=tmp_path_factory.mktemp("stack-ca")) as idp:
        idp.add_azure_storage()
        yield idp


@pytest.fixture(scope="module")
def oauth_azurite(stand_in: IdentityStandIn) -> Iterator[Azurite]:
    """Azurite over https with the stand-in's server certificate (one CA for both, as under ``make run``)."""
    require_azurite()
    folder = Path(stand_in.ca_path).parent
    with running_azurite(tls=TlsFiles(folder / "ca.pem", folder / "server.pem", folder / "server-key.pem")) as azurite:
        yield azurite


@pytest.fixture
def fresh_stand_in(stand_in: IdentityStandIn) -> Iterator[IdentityStandIn]:
    stand_in.reset()
    storage = stand_in.add_azure_storage()
    yield stand_in
    storage.audience = None


def producer(azurite: Azurite, name: str) -> QueueClient:
    """The test's own client (the account key; Azurite accepts both): what a sender puts in the queue."""
    return QueueClient.from_connection_string(azurite.connection_string, name, connection_verify=azurite.ca_path,
                                              message_encode_policy=TextBase64EncodePolicy(),
                                              message_decode_policy=TextBase64DecodePolicy())


def identity_settings(stand_in: IdentityStandIn, azurite: Azurite) -> dict[str, str]:
    """What App Service and the app's settings give a function app with identity-based storage: no key."""
    return {
        "AzureWebJobsStorage": "",
        "AzureWebJobsStorage__queueServiceUri": azurite.queue_endpoint,
        "AzureWebJobsStorage__credential": "managedidentity",
        "JobsStorage__serviceUri": azurite.queue_endpoint,  # the alias of queueServiceUri
        "JobsStorage__credential": "managedidentity",
        "IDENTITY_ENDPOINT": stand_in.identity_endpoint,
        "IDENTITY_HEADER": stand_in.identity_header,
        "SSL_CERT_FILE": stand_in.ca_path,
    }


@pytest.fixture(autouse=True)
def no_other_managed_identity(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("MSI_ENDPOINT", "MSI_SECRET", "IDENTITY_SERVER_THUMBPRINT", "IMDS_ENDPOINT", "AZURE_CLIENT_ID"):
        monkeypatch.delenv(name, raising=False)


def empty_queue(azurite: Azurite, name: str) -> QueueClient:
    queue = producer(azurite, name)
    if name in {q.name for q in queue_service(azurite).list_queues()}:
        queue.clear_messages()
    else:
        queue.create_queue()
    return queue


def queue_service(azurite: Azurite) -> Any:
    from azure.storage.queue import QueueServiceClient

    return QueueServiceClient.from_connection_string(azurite.connection_string, connection_verify=azurite.ca_path)


def test_queue_triggers_reach_storage_with_the_managed_identity(
    tmp_path: Path, oauth_azurite: Azurite, fresh_stand_in: IdentityStandIn,
) -> None:
    app = write_queue_app(tmp_path)
    work, held = empty_queue(oauth_azurite, "work"), empty_queue(oauth_azurite, "held")
    sent = work.send_message("by identity")
    held.send_message("by identity too")
    (app / "release").touch()  # the held function returns at once
    with DevHost(app, settings=identity_settings(fresh_stand_in, oauth_azurite)) as host:
        assert {f.name: f.connection for f in host.queue_functions}["held"] == "JobsStorage"
        [seen] = wait_until(lambda: records(app, "work"), seconds=20, what="the message delivered")
        wait_until(lambda: records(app, "held", "end"), seconds=20, what="the other connection's message delivered")
        wait_until(lambda: work.get_queue_properties().approximate_message_count == 0, seconds=10,
                   what="the message deleted")
    assert (seen["id"], seen["body"]) == (sent.id, "by identity")
    storage_tokens = [r for r in fresh_stand_in.token_requests
                      if r.endpoint == "managed_identity" and r.extra.get("resource") == STORAGE]
    assert storage_tokens and all(r.status == 200 for r in storage_tokens)
    assert fresh_stand_in.system_identity is not None


def test_a_refused_token_leaves_the_message_unrun_and_the_log_says_why(
    tmp_path: Path, oauth_azurite: Azurite, fresh_stand_in: IdentityStandIn, caplog: pytest.LogCaptureFixture,
) -> None:
    """The identity's token names another resource: Azurite refuses it (403), the listener backs off."""
    fresh_stand_in.add_azure_storage().audience = "https://other-resource.example"
    app = write_queue_app(tmp_path)
    work = empty_queue(oauth_azurite, "work")
    work.send_message("never run")
    settings = {k: v for k, v in identity_settings(fresh_stand_in, oauth_azurite).items()
                if not k.startswith("JobsStorage")}
    with caplog.at_level(logging.WARNING, logger="devhost"), DevHost(app, settings=settings):
        wait_until(lambda: any("polling queue work failed" in r.getMessage() for r in caplog.records), seconds=20,
                   what="the refusal logged")
    assert records(app, "work") == []
    assert [m.content for m in work.peek_messages()] == ["never run"]
    refused = [r for r in fresh_stand_in.token_requests if r.endpoint == "managed_identity"]
    assert refused and all(r.status == 200 for r in refused)  # a token was issued, and storage refused it


def test_identity_settings_resolve_as_the_host_resolves_them() -> None:
    uri = "https://contosojobs.queue.core.windows.net"
    by_account = queue_connection("", {"AzureWebJobsStorage__accountName": "contosojobs"})
    assert (by_account.setting, by_account.queue_service_uri, by_account.managed_identity) == (
        "AzureWebJobsStorage", uri, False)
    assert by_account.uses_identity and by_account.connection_string is None
    user_assigned = queue_connection("Jobs", {"Jobs__queueServiceUri": uri + "/", "Jobs__credential": "ManagedIdentity",
                                              "Jobs__clientId": "0d1b2c3d-0000-4000-8000-000000000001",
                                              "Jobs__blobServiceUri": "https://contosojobs.blob.core.windows.net"})
    assert (user_assigned.setting, user_assigned.queue_service_uri, user_assigned.managed_identity,
            user_assigned.client_id) == ("Jobs", uri, True, "0d1b2c3d-0000-4000-8000-000000000001")
    # AzureWebJobs<name> first, as in the host; a connection string in the setting wins over its __* settings.
    prefixed = queue_connection("Jobs", {"AzureWebJobsJobs__serviceUri": uri, "Jobs": "UseDevelopmentStorage=true"})
    assert (prefixed.setting, prefixed.queue_service_uri) == ("AzureWebJobsJobs", uri)
    string = queue_connection("Jobs", {"Jobs": "UseDevelopmentStorage=true", "Jobs__serviceUri": uri,
                                       "SSL_CERT_FILE": "/tmp/ca.pem"})
    assert (string.uses_identity, string.ca_bundle) == (False, "/tmp/ca.pem")


@pytest.mark.parametrize(("settings", "message"), [
    ({"Jobs__credential": "managedidentity"}, "needs Jobs__queueServiceUri"),
    ({"Jobs__serviceUri": "https://a.queue.core.windows.net", "Jobs__credential": "clientsecret"},
     "Jobs__credential must be 'managedidentity'"),
    ({"Jobs__accountName": "a1b2c3", "Jobs__clientSecret": "s3cr3t-value", "Jobs__tenantId": "t"},
     "Jobs__clientsecret: the devhost supports"),
    ({"Jobs__queueServiceUri": "https://a.queue.core.windows.net/?sig=s3cr3t-value"}, "must not carry a query"),
    ({"Jobs__queueServiceUri": "a.queue.core.windows.net"}, "absolute https URL"),
    ({}, "AzureWebJobsJobs or Jobs is not set"),
])
def test_unusable_identity_settings_are_named_never_shown(settings: dict[str, str], message: str) -> None:
    with pytest.raises(ConnectionSettingError) as caught:
        queue_connection("Jobs", settings)
    assert message in str(caught.value) and "s3cr3t-value" not in str(caught.value)


@pytest.mark.parametrize("connection", ["Jobs", "JobsStorage"])
def test_account_name_alone_is_the_host_storage_connections_only(connection: str) -> None:
    """Microsoft Learn (app settings reference, AzureWebJobsStorage__accountName): the account-name form "is
    unique to AzureWebJobsStorage and can't be used for other identity-based connections"; a queue trigger's
    own connection needs ``__queueServiceUri`` (or ``__serviceUri``). A devhost that accepts
    ``Jobs__accountName`` runs a trigger the Functions host leaves without a connection (review2)."""
    for settings in ({f"{connection}__accountName": "contosojobs"},
                     {f"AzureWebJobs{connection}__accountName": "contosojobs"}):
        with pytest.raises(ConnectionSettingError) as caught:
            queue_connection(connection, settings)
        assert "queueServiceUri" in str(caught.value)
