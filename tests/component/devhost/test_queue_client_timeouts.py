"""Review reproduction: the devhost's queue client built for a CA bundle keeps the timeouts it is given.

``QueueConnection.queue_client`` passes its options to the SDK's ``QueueClient``; with ``SSL_CERT_FILE`` set
(as under ``make run``) it also injects its own transport. The storage SDK gives ``connection_timeout`` /
``read_timeout`` (and its own defaults, 20 s and 60 s) only to the transport it builds itself, so an injected
transport built without them waits azure-core's 300 s for a connection and for each read.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import certifi
import pytest
from azure.core.exceptions import ServiceResponseError

from devhost.storage_connection import QueueConnection
from tests.support.azurite import ACCOUNT, ACCOUNT_KEY


@pytest.fixture
async def silent_queue_endpoint() -> AsyncIterator[str]:
    """A queue endpoint that accepts connections and reads requests but never answers."""
    held: list[asyncio.StreamWriter] = []

    async def swallow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)
        while await reader.read(65536):
            pass

    server = await asyncio.start_server(swallow, "127.0.0.1", 0)
    yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/{ACCOUNT}"
    for writer in held:
        writer.close()
    server.close()


async def test_a_read_timeout_given_to_the_queue_client_applies_with_a_ca_bundle(silent_queue_endpoint: str) -> None:
    connection = QueueConnection(
        "AzureWebJobsStorage", ca_bundle=certifi.where(),
        connection_string=f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={ACCOUNT_KEY};"
                          f"QueueEndpoint={silent_queue_endpoint};")
    client = connection.queue_client("silent", None, retry_total=0, read_timeout=1)
    try:
        async with asyncio.timeout(30):  # a bound for the test only: the client's own 1 s read timeout must end it
            with pytest.raises(ServiceResponseError):
                await client.get_queue_properties()
    finally:
        await client.close()
