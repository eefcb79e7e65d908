"""storage_client against Azurite: ETag-guarded updates, inserts that collide, base64 queue messages,
blobs, lease exclusion and renewal, and a quick StorageUnavailable when nothing listens."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from typing import Any

import pytest

from storage_client import (
    AlreadyExists,
    ChangedSinceRead,
    LeaseLost,
    LeaseTaken,
    StorageAccount,
    StorageUnavailable,
    storage_connection,
)
from tests.support.counting_proxy import counting_relays
from tests.support.polling import wait_until_async


@pytest.fixture
async def account(azurite: Any) -> AsyncIterator[StorageAccount]:
    storage = StorageAccount(storage_connection({"AzureWebJobsStorage": azurite.connection_string}))
    yield storage
    await storage.aclose()


async def test_insert_get_and_etag_guarded_update(account: StorageAccount) -> None:
    table = account.table("importjobs")
    await table.ensure()
    await table.ensure()  # idempotent
    assert await table.get("job1", "job") is None

    inserted = await table.insert({"PartitionKey": "job1", "RowKey": "job", "status": "queued", "done": 0})
    read = await table.get("job1", "job")
    assert read == {"PartitionKey": "job1", "RowKey": "job", "status": "queued", "done": 0}
    assert read.etag == inserted.etag

    updated = await table.update({"PartitionKey": "job1", "RowKey": "job", "status": "running"}, read.etag)
    assert updated.etag != read.etag
    with pytest.raises(ChangedSinceRead):  # a second writer with the old ETag loses
        await table.update({"PartitionKey": "job1", "RowKey": "job", "status": "failed"}, read.etag)
    assert (await table.get("job1", "job")) == {"PartitionKey": "job1", "RowKey": "job", "status": "running", "done": 0}

    with pytest.raises(AlreadyExists):
        await table.insert({"PartitionKey": "job1", "RowKey": "job"})

    await table.upsert({"PartitionKey": "job1", "RowKey": "seg-1", "done": True})
    found = [row async for row in table.query("PartitionKey eq @job", parameters={"job": "job1"}, select=["RowKey"])]
    assert sorted(row["RowKey"] for row in found) == ["job", "seg-1"]

    await table.delete("job1", "job")
    await table.delete("job1", "job")  # absent: no error
    assert await table.get("job1", "job") is None
    with pytest.raises(ChangedSinceRead):  # deleted since read
        await table.update({"PartitionKey": "job1", "RowKey": "job", "status": "x"}, updated.etag)


async def test_an_etag_guarded_delete_spares_an_entity_written_since_it_was_read(account: StorageAccount) -> None:
    table = account.table("importjobs")
    await table.ensure()
    read = await table.insert({"PartitionKey": "job2", "RowKey": "job", "status": "queued"})
    await table.update({"PartitionKey": "job2", "RowKey": "job", "status": "running"}, read.etag)
    with pytest.raises(ChangedSinceRead):  # written since read: If-Match fails (412)
        await table.delete("job2", "job", etag=read.etag)
    current = await table.get("job2", "job")
    assert current is not None and current["status"] == "running"

    await table.delete("job2", "job", etag=current.etag)
    assert await table.get("job2", "job") is None
    await table.delete("job2", "job", etag=current.etag)  # already gone (404): no error, as unconditionally


async def test_a_table_deleted_after_ensure_is_created_again_by_the_next_write(account: StorageAccount,
                                                                                azurite: Any) -> None:
    from azure.data.tables import TableServiceClient

    table = account.table("webhookdeliveries")
    await table.ensure()
    TableServiceClient.from_connection_string(azurite.connection_string).delete_table("webhookdeliveries")
    assert await table.get("p", "r") is None
    await table.insert({"PartitionKey": "p", "RowKey": "r"})
    assert await table.get("p", "r") == {"PartitionKey": "p", "RowKey": "r"}


async def test_queue_messages_are_base64_as_the_functions_host_expects(account: StorageAccount, azurite: Any) -> None:
    from azure.storage.queue import QueueClient

    queue = account.queue("schedule-import-jobs")
    await queue.ensure()
    await queue.send('{"jobId":"j-1"}')
    await queue.send("later", delay_seconds=3600)

    raw = QueueClient.from_connection_string(azurite.connection_string, "schedule-import-jobs")  # no decode policy
    messages = list(raw.receive_messages(max_messages=32))
    assert [base64.b64decode(m.content).decode() for m in messages] == ['{"jobId":"j-1"}'], "the delayed one is hidden"
    assert raw.get_queue_properties().approximate_message_count == 2


async def test_a_queue_delay_is_bounded_to_an_hour_whatever_was_asked(azurite: Any) -> None:
    """Storage refuses a visibility timeout of 7 days or more: a delay from anywhere (a Retry-After, a back-off)
    goes on the wire as at most MAX_QUEUE_DELAY (1 hour), so the send succeeds and the message stays hidden."""
    from urllib.parse import parse_qs, urlsplit

    from azure.storage.queue import QueueClient

    from storage_client.account import MAX_QUEUE_DELAY, queue_delay

    sent: list[int] = []

    def record(request: Any) -> None:  # what the SDK really sends
        query = parse_qs(urlsplit(request.http_request.url).query)
        sent.extend(int(v) for v in query.get("visibilitytimeout", []))

    account = StorageAccount(storage_connection({"AzureWebJobsStorage": azurite.connection_string}),
                             client_options={"raw_request_hook": record})
    try:
        queue = account.queue("schedule-import-jobs")
        await queue.ensure()
        for asked in (7 * 24 * 3600, 30 * 24 * 3600, float("inf"), 90):
            await queue.send("later", delay_seconds=asked)
    finally:
        await account.aclose()
    assert sent == [3600, 3600, 3600, 90] and MAX_QUEUE_DELAY == 3600
    raw = QueueClient.from_connection_string(azurite.connection_string, "schedule-import-jobs")
    assert raw.get_queue_properties().approximate_message_count == 4
    assert list(raw.peek_messages(max_messages=32)) == []  # all hidden
    assert [queue_delay(v) for v in (30 * 24 * 3600, 3599.9, -5, float("nan"), "soon", 10**400, None)] == [
        3600, 3599, 0, 0, 0, 3600, 0]


async def test_blob_put_get_delete(account: StorageAccount) -> None:
    container = account.container("import-payloads")
    await container.ensure()
    assert await container.get("job1.json") is None
    await container.put("job1.json", b'{"agents":[]}')
    assert await container.get("job1.json") == b'{"agents":[]}'
    with pytest.raises(AlreadyExists):
        await container.put("job1.json", b"other", overwrite=False)
    await container.delete("job1.json")
    await container.delete("job1.json")
    assert await container.get("job1.json") is None


async def test_a_lease_excludes_a_second_holder_until_released(account: StorageAccount) -> None:
    locks = account.container("import-locks")
    await locks.ensure()
    async with locks.lease("agent-7", seconds=15) as held:
        assert not held.lost
        with pytest.raises(LeaseTaken):
            async with locks.lease("agent-7", seconds=15):
                pass
    async with locks.lease("agent-7", seconds=15) as again:  # released on exit: free at once
        assert again.id


async def test_a_held_lease_is_renewed_in_the_background(account: StorageAccount, azurite: Any) -> None:
    """Renewals are counted on the lease, and storage agrees the lease is still held after them."""
    from azure.storage.blob import BlobClient

    locks = account.container("import-locks")
    await locks.ensure()
    async with locks.lease("agent-8", seconds=15, renew_every=0.05) as held:
        await wait_until_async(lambda: held.renewals >= 3, what="three renewals")
        blob = BlobClient.from_connection_string(azurite.connection_string, "import-locks", "agent-8")
        assert blob.get_blob_properties().lease.state == "leased"
        assert not held.lost
    assert blob.get_blob_properties().lease.state == "available"


async def test_a_lease_broken_from_outside_is_invalid_for_its_holder(account: StorageAccount, azurite: Any) -> None:
    """Another party breaks the lease: the next renewal is refused and the holder sees it before writing more."""
    from azure.storage.blob import BlobClient, BlobLeaseClient

    locks = account.container("import-locks")
    await locks.ensure()
    async with locks.lease("agent-9", seconds=15, renew_every=0.05) as held:
        await wait_until_async(held.valid, what="a fresh lease is valid")
        held.ensure_valid()
        blob = BlobClient.from_connection_string(azurite.connection_string, "import-locks", "agent-9")
        BlobLeaseClient(blob).break_lease(lease_break_period=0)
        await wait_until_async(lambda: not held.valid(), what="the holder sees the lease lost")
        assert held.lost
        with pytest.raises(LeaseLost):
            held.ensure_valid()


async def test_a_lease_whose_renewals_stall_turns_invalid_by_time_before_any_renewal_fails(azurite: Any) -> None:
    """Storage stops answering (a relay holds the renewal): no renewal has failed yet, but the holder's clock
    says the lease may lapse within its margin, so it must not start another write. Once the renewal gets
    through, the lease is valid again."""
    from tests.support.counting_proxy import counting_relays

    with counting_relays(azurite.blob_endpoint) as (relay,):
        setting = azurite.connection_string.replace(azurite.blob_endpoint, relay.url)
        account = StorageAccount(storage_connection({"AzureWebJobsStorage": setting}))
        try:
            locks = account.container("import-locks")
            await locks.ensure()
            # a margin of 14.5 s of 15: valid only within 0.5 s of the last renewal
            async with locks.lease("agent-10", seconds=15, renew_every=0.05, margin=14.5) as held:
                await wait_until_async(lambda: held.renewals >= 1, what="a renewal")
                relay.stall()
                await wait_until_async(lambda: not held.valid(), what="the stalled lease seen as invalid")
                assert not held.lost and held.remaining > 0  # nothing failed, storage still holds it: time says so
                with pytest.raises(LeaseLost):
                    held.ensure_valid()
                relay.resume()
                await wait_until_async(held.valid, seconds=10, what="valid again after a renewal")
        finally:
            relay.resume()
            await account.aclose()


async def test_a_renewal_failing_unexpectedly_is_raised_after_the_lease_is_released(azurite: Any) -> None:
    """A renewal that fails with an error the client does not map (injected in the SDK's pipeline) stops the
    renewing; on exit the lease is still released, and the error is raised, or logged when the block's own
    error is on its way (neither hides the other)."""
    from azure.storage.blob import BlobClient

    class Injected(Exception):
        pass

    def refuse_renewals(request: Any) -> None:
        if request.http_request.headers.get("x-ms-lease-action") == "renew":
            raise Injected("renewal broken by the test")

    account = StorageAccount(storage_connection({"AzureWebJobsStorage": azurite.connection_string}),
                             client_options={"raw_request_hook": refuse_renewals})
    blob = BlobClient.from_connection_string(azurite.connection_string, "import-locks", "agent-11")
    try:
        locks = account.container("import-locks")
        await locks.ensure()
        with pytest.raises(Injected):
            async with locks.lease("agent-11", seconds=15, renew_every=0.05) as held:
                await wait_until_async(lambda: not held.renewing, what="the renewal ended")
        assert blob.get_blob_properties().lease.state == "available"

        with pytest.raises(KeyError):  # the block's error goes on
            async with locks.lease("agent-11", seconds=15, renew_every=0.05) as held:
                await wait_until_async(lambda: not held.renewing, what="the renewal ended")
                raise KeyError("the block's own error")
        assert blob.get_blob_properties().lease.state == "available"
    finally:
        await account.aclose()


async def test_a_lease_lasts_15_to_60_seconds(account: StorageAccount) -> None:
    with pytest.raises(ValueError):
        async with account.container("import-locks").lease("x", seconds=10):
            pass


async def test_storage_down_is_storage_unavailable_after_a_few_quick_tries(azurite: Any) -> None:
    """Nothing listens on the discard port: the bounded retries end in StorageUnavailable, not a hang."""
    closed = azurite.connection_string
    for endpoint in (azurite.blob_endpoint, azurite.queue_endpoint, azurite.table_endpoint):
        closed = closed.replace(endpoint, "http://127.0.0.1:9/devstoreaccount1")
    down = StorageAccount(storage_connection({"AzureWebJobsStorage": closed}), timeout=5)
    try:
        for call in (lambda: down.table("t").get("p", "r"), lambda: down.queue("q").send("x"),
                     lambda: down.container("c").get("b"), down.probe):
            with pytest.raises(StorageUnavailable) as caught:
                await call()
            assert 1 <= caught.value.retry_after <= 30
    finally:
        await down.aclose()


async def test_an_identity_connection_asks_its_credential_for_a_storage_token() -> None:
    """Identity-based: the SDK gets a bearer token for Azure Storage from the credential before it
    connects (nothing listens on port 1, so the call then fails as an outage)."""
    from azure.core.credentials import AccessToken

    scopes: list[tuple[str, ...]] = []

    class RecordingCredential:
        async def get_token(self, *wanted: str, **options: Any) -> AccessToken:
            scopes.append(wanted)
            return AccessToken("not-a-real-token", 4102444800)

        async def close(self) -> None:
            pass

    connection = storage_connection({f"AzureWebJobsStorage__{s}ServiceUri": f"https://127.0.0.1:1/{s}"
                                     for s in ("blob", "queue", "table")})
    account = StorageAccount(connection, timeout=3, credential=RecordingCredential())
    try:
        with pytest.raises(StorageUnavailable):
            await account.table("webhookdeliveries").get("p", "r")
        with pytest.raises(StorageUnavailable):
            await account.container("import-locks").get("b")
    finally:
        await account.aclose()
    assert scopes and all(scope == ("https://storage.azure.com/.default",) for scope in scopes)


async def test_a_wrong_account_key_is_storage_refused(azurite: Any) -> None:
    """Azurite checks the shared-key signature: a key it does not know is a 403, told apart from an outage."""
    from storage_client import StorageRefused

    wrong = azurite.connection_string.replace(azurite.connection_string.split("AccountKey=")[1].split(";")[0],
                                              base64.b64encode(b"not the development key, 32 byte").decode())
    account = StorageAccount(storage_connection({"AzureWebJobsStorage": wrong}))
    try:
        with pytest.raises(StorageRefused) as caught:
            await account.probe()
        assert caught.value.status == 403 and caught.value.retry_after == 30
        with pytest.raises(StorageRefused):
            await account.table("webhookdeliveries").get("p", "r")
    finally:
        await account.aclose()


async def test_a_ca_bundle_is_loaded_once_and_connections_are_reused(azurite):
    """A CA bundle (SSL_CERT_FILE, passed on by the composition root as ``connection_verify``) must not
    cost a context per request: azure-core given a bundle path builds an SSL context from the file
    for every request (about 25 ms with a system bundle) and, the context being new each time,
    aiohttp opens a new connection for each. The account builds one context and its connections
    are reused: 20 requests over a handful of connections."""
    import certifi

    with counting_relays(azurite.table_endpoint) as [relay]:
        relayed = azurite.connection_string.replace(azurite.table_endpoint, relay.url)
        account = StorageAccount(storage_connection({"AzureWebJobsStorage": relayed}),
                                 client_options={"connection_verify": certifi.where()})
        try:
            table = account.table("reuse")
            await table.ensure()
            for n in range(20):
                await table.upsert({"PartitionKey": "p", "RowKey": str(n), "n": n})
        finally:
            await account.aclose()
    assert relay.total == 21
    assert relay.connections <= 3
