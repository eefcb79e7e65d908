"""Links follow the request: scheme and host of @odata.context, @odata.nextLink, OData-EntityId,
forwarded headers from a loopback proxy, and https with a generated CA (docs/emulator.md#links-and-https)."""

from __future__ import annotations

import ssl
from collections.abc import Iterator

import httpx
import pytest

from emulators.dataverse import DataverseEmulator
from emulators.dataverse.hosting.asgi import service_root

PAGE_OF_ONE = {"Prefer": "odata.maxpagesize=1"}


def _two_contacts(api) -> None:
    for name in ("A", "B"):
        assert api.post("contacts", json={"lastname": name}).status_code == 204


def test_links_use_the_host_header(api):
    headers = {"Host": "org.example:8443"}
    created = api.post("contacts", json={"lastname": "H"}, headers=headers)
    assert created.headers["OData-EntityId"].startswith("http://org.example:8443/api/data/v9.2/contacts(")
    _two_contacts(api)
    page = api.get("contacts", params={"$select": "lastname"}, headers={**headers, **PAGE_OF_ONE}).json()
    assert page["@odata.context"] == "http://org.example:8443/api/data/v9.2/$metadata#contacts(lastname)"
    assert page["@odata.nextLink"].startswith("http://org.example:8443/api/data/v9.2/contacts?")


def test_forwarded_proto_and_host_from_a_loopback_proxy(api):
    _two_contacts(api)
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "crm.example.com"}
    page = api.get("contacts", headers={**forwarded, **PAGE_OF_ONE}).json()
    assert page["@odata.context"].startswith("https://crm.example.com/api/data/v9.2/$metadata#contacts")
    next_link = page["@odata.nextLink"]
    assert next_link.startswith("https://crm.example.com/api/data/v9.2/contacts?")
    # The proxy would pass the link's path on unchanged; the emulator serves the second page.
    second = api.get(next_link.split("/api/data/v9.2/", 1)[1], headers={**forwarded, **PAGE_OF_ONE}).json()
    assert len(second["value"]) == 1 and second["value"][0]["contactid"] != page["value"][0]["contactid"]
    created = api.post("contacts", json={"lastname": "F"}, headers=forwarded)
    assert created.headers["OData-EntityId"].startswith("https://crm.example.com/api/data/v9.2/contacts(")


def test_forwarded_values_that_are_not_a_scheme_or_host_are_ignored(api, dataverse):
    headers = {"X-Forwarded-Proto": "javascript", "X-Forwarded-Host": "evil.example/path?x"}
    context = api.get("contacts", headers=headers).json()["@odata.context"]
    assert context.startswith(f"{dataverse.url}/api/data/v9.2/")


def test_first_forwarded_value_wins(api):
    headers = {"X-Forwarded-Proto": "https, http", "X-Forwarded-Host": "outer.example, inner.example"}
    context = api.get("contacts", headers=headers).json()["@odata.context"]
    assert context.startswith("https://outer.example/api/data/v9.2/")


def _scope(client: str) -> dict[str, object]:
    return {"scheme": "http", "client": (client, 50000), "server": ("127.0.0.1", 5000)}


@pytest.mark.parametrize("peer", ["203.0.113.7", "10.0.0.2"])
def test_forwarded_headers_from_a_remote_peer_are_ignored(peer):
    """A peer that is not on loopback cannot reach the emulator's socket, so this is checked on the function."""
    headers = {"host": "127.0.0.1:5000", "x-forwarded-proto": "https", "x-forwarded-host": "evil.example"}
    assert service_root(_scope(peer), headers) == "http://127.0.0.1:5000/api/data/v9.2/"
    assert service_root(_scope("127.0.0.1"), headers) == "https://evil.example/api/data/v9.2/"


def test_a_malformed_host_header_falls_back_to_the_socket_address():
    assert service_root(_scope("127.0.0.1"), {"host": "a b"}) == "http://127.0.0.1:5000/api/data/v9.2/"


@pytest.fixture(scope="module")
def https_emulator(tmp_path_factory) -> Iterator[DataverseEmulator]:
    with DataverseEmulator(https=True, tls_dir=tmp_path_factory.mktemp("tls")) as emulator:
        yield emulator


def test_https_serves_with_the_generated_ca(https_emulator):
    assert https_emulator.url.startswith("https://127.0.0.1:")
    with httpx.Client(base_url=https_emulator.api_url, verify=ssl.create_default_context(cafile=str(https_emulator.ca_path))) as client:
        for name in ("A", "B"):
            created = client.post("contacts", json={"lastname": name})
            assert created.headers["OData-EntityId"].startswith(f"{https_emulator.api_url}contacts(")
        first = client.get("contacts", headers=PAGE_OF_ONE).json()
        assert first["@odata.context"].startswith(https_emulator.api_url)
        assert first["@odata.nextLink"].startswith(https_emulator.api_url)
        second = client.get(first["@odata.nextLink"], headers=PAGE_OF_ONE).json()
        assert second["value"][0]["contactid"] != first["value"][0]["contactid"]


def test_https_is_refused_by_a_client_that_does_not_trust_the_ca(https_emulator):
    with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        httpx.get(https_emulator.api_url, timeout=5)


def test_ca_path_needs_https():
    with pytest.raises(RuntimeError):
        _ = DataverseEmulator().ca_path


def test_command_line_https_prints_the_ca_to_trust():
    import os
    import selectors
    import subprocess
    import sys
    import time

    from tests.support import ROOT as root

    process = subprocess.Popen(
        [sys.executable, "-m", "emulators.dataverse", "--port", "0", "--https"],
        cwd=root, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
    )
    try:
        assert process.stdout is not None
        output = b""
        selector = selectors.DefaultSelector()
        selector.register(process.stdout, selectors.EVENT_READ)
        deadline = time.monotonic() + 20
        while output.count(b"\n") < 2 and time.monotonic() < deadline and process.poll() is None:
            if selector.select(timeout=0.2):
                output += os.read(process.stdout.fileno(), 4096)
        lines = output.decode().splitlines()
        assert len(lines) == 2, (lines, process.poll())
        url = lines[0].split(" on ", 1)[1].split(" ", 1)[0]
        ca_path = lines[1].rsplit(": ", 1)[1].strip()
        assert url.startswith("https://127.0.0.1:")
        answer = httpx.get(f"{url}/api/data/v9.2/contacts", verify=ssl.create_default_context(cafile=ca_path), timeout=5)
        assert answer.status_code == 200 and answer.json()["@odata.context"].startswith(f"{url}/api/data/v9.2/")
    finally:
        process.terminate()
        process.wait(timeout=10)
