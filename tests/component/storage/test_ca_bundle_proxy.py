"""Review reproduction: a CA bundle must not turn off the environment's proxy settings.

azure-core's own aiohttp transport opens its session with ``trust_env=True``, so the storage clients go
through ``HTTPS_PROXY`` (Microsoft Learn, "Azure Core library for Python", proxy configuration). A CA
bundle (``SSL_CERT_FILE``) is typically set on exactly the networks that need a proxy (TLS inspection).
The account's own transport for a bundle (storage_client/account.py ``_transport``) must keep that.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import pytest

from storage_client import StorageAccount, storage_connection
from tests.support.azurite import Azurite, require_azurite, running_azurite
from tools.local_tls import generate


@pytest.fixture(scope="module")
def tls_azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Azurite]:
    require_azurite()
    with running_azurite(tls=generate(tmp_path_factory.mktemp("azurite-tls"))) as azurite:
        yield azurite


class ConnectProxy:
    """A minimal HTTPS proxy: answers ``CONNECT host:port`` and tunnels the bytes; counts the tunnels."""

    def __init__(self) -> None:
        self.tunnels = 0
        self.url = ""

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        method, target, _ = head.split(b"\r\n", 1)[0].split(b" ", 2)
        if method != b"CONNECT":
            writer.write(b"HTTP/1.1 405 Method Not Allowed\r\ncontent-length: 0\r\n\r\n")
            writer.close()
            return
        host, port = target.decode().rsplit(":", 1)
        up_reader, up_writer = await asyncio.open_connection(host, int(port))
        self.tunnels += 1
        writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except (ConnectionError, asyncio.CancelledError):
                pass
            finally:
                dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))


@pytest.fixture
async def proxy(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[ConnectProxy]:
    relay = ConnectProxy()
    server = await asyncio.start_server(relay.serve, "127.0.0.1", 0)
    relay.url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    for name in ("HTTPS_PROXY", "https_proxy", "NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("https_proxy", relay.url)
    yield relay
    server.close()


async def test_with_a_ca_bundle_storage_still_goes_through_the_environments_proxy(
    tls_azurite: Azurite, proxy: ConnectProxy
) -> None:
    account = StorageAccount(storage_connection({"AzureWebJobsStorage": tls_azurite.connection_string}),
                             client_options={"connection_verify": tls_azurite.ca_path})
    try:
        table = account.table("viaproxy")
        await table.ensure()
        await table.upsert({"PartitionKey": "p", "RowKey": "r", "n": 1})
    finally:
        await account.aclose()
    assert proxy.tunnels >= 1, "the storage requests bypassed HTTPS_PROXY"
