"""docs/configuration.md (AzureWebJobsStorage): every connection form the host accepts, malformed ones
named as AzureWebJobsStorage, and never the key or SAS in a message or repr."""

import base64

import pytest

from integration.settings import SettingsError, load_settings
from storage_client.connection import (
    DEVELOPMENT_KEY,
    StorageConnection,
    StorageSettingError,
    storage_connection,
)
from tests.support.settings import VALID

KEY = base64.b64encode(b"a test key that is not a real one, 64 bytes long ..............").decode()
SAS = "sv=2024-11-04&ss=bqt&srt=sco&sp=rwdlacup&se=2030-01-01T00:00:00Z&sig=c2VjcmV0LXNpZ25hdHVyZQ%3D%3D"


def connection(**environ: str) -> StorageConnection | None:
    return storage_connection(environ)


def test_unset_means_no_storage():
    assert connection() is None
    assert connection(AzureWebJobsStorage="  ") is None
    assert load_settings(VALID).storage is None


def test_development_storage_is_azurite_on_its_default_ports():
    conn = connection(AzureWebJobsStorage="UseDevelopmentStorage=true")
    assert (conn.blob_url, conn.queue_url, conn.table_url) == (
        "http://127.0.0.1:10000/devstoreaccount1", "http://127.0.0.1:10001/devstoreaccount1",
        "http://127.0.0.1:10002/devstoreaccount1",
    )
    assert not conn.uses_identity and DEVELOPMENT_KEY in conn.connection_string
    assert conn.describe() == {"kind": "connection string", "account": "devstoreaccount1"}


def test_account_name_and_key_give_the_global_azure_endpoints():
    conn = connection(AzureWebJobsStorage=f"DefaultEndpointsProtocol=https;AccountName=contosofn;AccountKey={KEY};"
                                          "EndpointSuffix=core.windows.net")
    assert conn.blob_url == "https://contosofn.blob.core.windows.net"
    assert conn.queue_url == "https://contosofn.queue.core.windows.net"
    assert conn.table_url == "https://contosofn.table.core.windows.net"
    assert conn.describe() == {"kind": "connection string", "account": "contosofn"}


def test_endpoint_suffix_of_a_sovereign_cloud():
    conn = connection(AzureWebJobsStorage=f"AccountName=contosofn;AccountKey={KEY};EndpointSuffix=core.chinacloudapi.cn")
    assert conn.table_url == "https://contosofn.table.core.chinacloudapi.cn"


def test_explicit_endpoints_as_for_azurite_on_other_ports():
    conn = connection(AzureWebJobsStorage=(
        f"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={DEVELOPMENT_KEY};"
        "BlobEndpoint=http://127.0.0.1:41000/devstoreaccount1;QueueEndpoint=http://127.0.0.1:41001/devstoreaccount1/;"
        "TableEndpoint=http://127.0.0.1:41002/devstoreaccount1;"
    ))
    assert conn.queue_url == "http://127.0.0.1:41001/devstoreaccount1"
    assert "TableEndpoint=http://127.0.0.1:41002/devstoreaccount1" in conn.connection_string


def test_a_sas_connection_with_explicit_endpoints():
    conn = connection(AzureWebJobsStorage=(
        "BlobEndpoint=https://contosofn.blob.core.windows.net/;QueueEndpoint=https://contosofn.queue.core.windows.net/;"
        f"TableEndpoint=https://contosofn.table.core.windows.net/;SharedAccessSignature={SAS}"
    ))
    assert conn.describe() == {"kind": "connection string", "account": "contosofn"}
    assert f"SharedAccessSignature={SAS}" in conn.connection_string


def test_identity_by_account_name():
    conn = connection(AzureWebJobsStorage__accountName="contosofn")
    assert conn.uses_identity and conn.connection_string is None
    assert conn.blob_url == "https://contosofn.blob.core.windows.net"
    assert conn.table_url == "https://contosofn.table.core.windows.net"
    assert conn.describe() == {"kind": "identity", "account": "contosofn"}
    assert conn.managed_identity_client_id is None and not conn.managed_identity


def test_identity_by_service_uris_with_a_user_assigned_identity():
    client_id = "1f0e7a3c-4b5d-4e6f-8a9b-0c1d2e3f4a5b"
    conn = connection(
        AzureWebJobsStorage__blobServiceUri="https://contosofn.blob.core.usgovcloudapi.net",
        AzureWebJobsStorage__queueServiceUri="https://contosofn.queue.core.usgovcloudapi.net",
        AzureWebJobsStorage__tableServiceUri="https://contosofn.table.core.usgovcloudapi.net/",
        AzureWebJobsStorage__credential="managedidentity",
        AzureWebJobsStorage__clientId=client_id.upper(),
    )
    assert conn.table_url == "https://contosofn.table.core.usgovcloudapi.net"
    assert conn.managed_identity and conn.managed_identity_client_id == client_id


def test_a_connection_string_wins_over_identity_settings_as_in_the_host():
    conn = connection(AzureWebJobsStorage="UseDevelopmentStorage=true", AzureWebJobsStorage__accountName="contosofn")
    assert conn.account == "devstoreaccount1"


def test_another_connection_name():
    assert storage_connection({"JobsStorage__accountName": "contosofn"}, "JobsStorage").account == "contosofn"


@pytest.mark.parametrize("environ, expected", [
    ({"AzureWebJobsStorage": "not a connection string"}, "Name=value pairs"),
    ({"AzureWebJobsStorage": "UseDevelopmentStorage=false"}, "UseDevelopmentStorage must be 'true'"),
    ({"AzureWebJobsStorage": "UseDevelopmentStorage=true;AccountName=x"}, "stands alone"),
    ({"AzureWebJobsStorage": "AccountName=contosofn"}, "neither AccountKey nor SharedAccessSignature"),
    ({"AzureWebJobsStorage": "AccountName=contosofn;AccountKey=%%%not-base64%%%"}, "AccountKey is not valid base64"),
    ({"AzureWebJobsStorage": f"AccountKey={KEY}"}, "no AccountName"),
    ({"AzureWebJobsStorage": f"AccountName=Contoso_FN;AccountKey={KEY}"}, "AccountName must be"),
    ({"AzureWebJobsStorage": f"AccountName=contosofn;AccountKey={KEY};AccountKey={KEY}"}, "twice"),
    ({"AzureWebJobsStorage": f"AccountName=contosofn;AccountKey={KEY};SharedAccessSignature={SAS}"}, "use one"),
    ({"AzureWebJobsStorage": f"DefaultEndpointsProtocol=ftp;AccountName=contosofn;AccountKey={KEY}"}, "http or https"),
    ({"AzureWebJobsStorage": f"DefaultEndpointsProtocol=http;AccountName=contosofn;AccountKey={KEY}"}, "must use https"),
    ({"AzureWebJobsStorage": f"AccountName=contosofn;AccountKey={KEY};EndpointSuffix=not a suffix"}, "EndpointSuffix"),
    ({"AzureWebJobsStorage": f"BlobEndpoint=https://a.blob.core.windows.net?{SAS};SharedAccessSignature={SAS}"},
     "must not carry"),
    ({"AzureWebJobsStorage": f"BlobEndpoint=https://a.blob.core.windows.net;SharedAccessSignature={SAS}"},
     "no QueueEndpoint"),
    ({"AzureWebJobsStorage": f"AccountName=contosofn;AccountKey={KEY};TableEndpoint=https://[bad"}, "TableEndpoint"),
    ({"AzureWebJobsStorage": "x" * 5000}, "longer than"),
    ({"AzureWebJobsStorage__accountName": "Contoso FN"}, "accountName must be"),
    ({"AzureWebJobsStorage__blobServiceUri": "https://a.blob.core.windows.net"}, "missing"),
    ({"AzureWebJobsStorage__accountName": "contosofn", "AzureWebJobsStorage__credential": "secret"},
     "credential must be 'managedidentity'"),
    ({"AzureWebJobsStorage__accountName": "contosofn", "AzureWebJobsStorage__clientId": "not-a-guid"}, "clientId"),
    ({"AzureWebJobsStorage__acountName": "contosofn"}, "not a setting the app reads"),
    ({"AzureWebJobsStorage__accountName": "contosofn",
      "AzureWebJobsStorage__tableServiceUri": "http://contosofn.table.core.windows.net"}, "must use https"),
])
def test_malformed_settings_are_named_without_their_values(environ, expected):
    with pytest.raises(StorageSettingError) as caught:
        storage_connection(environ)
    message = str(caught.value)
    assert expected in message
    assert KEY not in message and "sig=" not in message and "%%%" not in message

    with pytest.raises(SettingsError) as reported:
        load_settings({**VALID, **environ})
    assert [(p.name, p.message) for p in reported.value.problems] == [("AzureWebJobsStorage", message)]


def test_repr_and_describe_never_show_the_key_or_sas():
    for value in (f"AccountName=contosofn;AccountKey={KEY}",
                  f"BlobEndpoint=https://a.blob.core.windows.net;QueueEndpoint=https://a.queue.core.windows.net;"
                  f"TableEndpoint=https://a.table.core.windows.net;SharedAccessSignature={SAS}"):
        settings = load_settings({**VALID, "AzureWebJobsStorage": value})
        conn = settings.storage
        for text in (repr(conn), str(conn), repr(settings), str(conn.describe())):
            assert KEY not in text and "sig=" not in text
    assert DEVELOPMENT_KEY not in repr(storage_connection({"AzureWebJobsStorage": "UseDevelopmentStorage=true"}))
