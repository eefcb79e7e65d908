"""Storage that answers but cannot be used (a wrong account name, a request storage cannot serve) is told
apart from an outage, and /api/health's storage probe is cached (docs/storage.md#errors, docs/spec.md#25-get-apihealth).

Against Azurite; a loopback stand-in answers only what Azurite cannot produce (an unsupported API version)."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import azure.functions as func
import pytest

from entry.composition_root import CompositionRoot
from storage_client import StorageAccount, StorageError, StorageMisconfigured, storage_connection
from tests.support.azurite import ACCOUNT, ACCOUNT_KEY
from tests.support.counting_proxy import counting_relays
from tests.support.handlers import app_handler
from tests.support.settings import VALID

WRONG_ACCOUNT = "contosowrong1"


def wrong_account(azurite: Any) -> str:
    """Azurite's endpoints with an account name it does not have (as a typo in the setting would give)."""
    return azurite.connection_string.replace(f"/{ACCOUNT}", f"/{WRONG_ACCOUNT}").replace(
        f"AccountName={ACCOUNT}", f"AccountName={WRONG_ACCOUNT}")


async def get(handler: Any, path: str, **route_params: str) -> tuple[int, dict[str, Any], func.HttpResponse]:
    response = await handler(func.HttpRequest("GET", path, body=b"", route_params=route_params))
    return response.status_code, json.loads(response.get_body()), response


async def test_a_wrong_account_name_is_misconfiguration_not_an_outage(azurite: Any) -> None:
    """Azurite answers 404 ResourceNotFound to the listings of the probe and to creating a table, queue or
    container (every flow ensures what it uses first): StorageMisconfigured, with the operator's Retry-After."""
    account = StorageAccount(storage_connection({"AzureWebJobsStorage": wrong_account(azurite)}), timeout=5)
    try:
        for call in (account.probe, account.table("importjobs").ensure, account.queue("schedule-import-jobs").ensure,
                     account.container("import-payloads").ensure):
            with pytest.raises(StorageMisconfigured) as caught:
                await call()
            assert (caught.value.status, caught.value.code, caught.value.retry_after) == (404, "ResourceNotFound", 30)
    finally:
        await account.aclose()


async def test_a_table_deleted_since_ensure_is_not_misconfiguration(azurite: Any) -> None:
    """404 TableNotFound names one resource: it is gone, the account is right (and error codes are the
    codes storage sent, not the SDK's enum names)."""
    from azure.data.tables import TableServiceClient

    account = StorageAccount(storage_connection({"AzureWebJobsStorage": azurite.connection_string}))
    try:
        table = account.table("importjobs")
        await table.ensure()
        TableServiceClient.from_connection_string(azurite.connection_string).delete_table("importjobs")
        with pytest.raises(StorageError) as caught:
            _ = [row async for row in table.query("PartitionKey eq 'p'")]
        assert not isinstance(caught.value, StorageMisconfigured)
        assert (caught.value.status, caught.value.code) == (404, "TableNotFound")
    finally:
        await account.aclose()


async def test_an_entity_storage_refuses_is_not_misconfiguration(azurite: Any) -> None:
    """A 400 about the data the app sends (a property over 64 KiB) is the app's own fault, not the setting's."""
    account = StorageAccount(storage_connection({"AzureWebJobsStorage": azurite.connection_string}))
    try:
        table = account.table("importjobs")
        await table.ensure()
        with pytest.raises(StorageError) as caught:
            await table.insert({"PartitionKey": "p", "RowKey": "r", "big": "x" * 70_000})
        assert caught.value.status == 400 and not isinstance(caught.value, StorageMisconfigured)
    finally:
        await account.aclose()


@contextmanager
def answering(status: int, code: str) -> Iterator[str]:
    """A loopback server answering every request ``status`` with ``x-ms-error-code: code``; yields its URL."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            body = (f'<?xml version="1.0" encoding="utf-8"?><Error><Code>{code}</Code>'
                    "<Message>The value for one of the HTTP headers is not in the correct format.</Message>"
                    "<HeaderName>x-ms-version</HeaderName></Error>").encode()
            self.send_response(status)
            self.send_header("x-ms-error-code", code)
            self.send_header("Content-Type", "application/xml")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = do_PATCH = do_MERGE = _answer

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/{ACCOUNT}"
    finally:
        server.shutdown()
        server.server_close()


async def test_an_unsupported_api_version_is_misconfiguration() -> None:
    """400 InvalidHeaderValue (what storage answers an x-ms-version it does not support; Azurite here is
    started to skip that check) on a data call is StorageMisconfigured too."""
    with answering(400, "InvalidHeaderValue") as url:
        setting = (f"AccountName={ACCOUNT};AccountKey={ACCOUNT_KEY};BlobEndpoint={url};QueueEndpoint={url};"
                   f"TableEndpoint={url}")
        account = StorageAccount(storage_connection({"AzureWebJobsStorage": setting}), timeout=5)
        try:
            for call in (lambda: account.container("import-payloads").get("x.json"),
                         lambda: account.queue("schedule-import-jobs").send("x")):
                with pytest.raises(StorageMisconfigured) as caught:
                    await call()
                assert (caught.value.status, caught.value.code) == (400, "InvalidHeaderValue")
        finally:
            await account.aclose()


async def test_routes_answer_503_naming_the_setting_and_health_says_unusable(azurite: Any) -> None:
    setting = wrong_account(azurite)
    root = CompositionRoot({**VALID, "AzureWebJobsStorage": setting})
    try:
        status, body, response = await get(app_handler(root, "import_job_status"),
                                            "/api/schedules/import/jobs/" + "a" * 32, jobId="a" * 32)
        assert (status, response.headers["Retry-After"]) == (503, "30")
        assert body["title"] == "Storage misconfigured" and body["settings"] == ["AzureWebJobsStorage"]
        assert "AzureWebJobsStorage" in body["detail"] and ACCOUNT_KEY not in response.get_body().decode()

        status, body, _ = await get(app_handler(root, "health"), "/api/health")
        assert status == 200  # an App Service health check must not pull every instance for this
        storage = body["storage"]
        assert {k: storage[k] for k in ("configured", "reachable", "usable")} == {
            "configured": True, "reachable": True, "usable": False}
    finally:
        await root.aclose()


async def test_health_probes_storage_once_per_window(azurite: Any) -> None:
    """Ten health calls in a row cost one probe (3 listing requests), and say how old the probe is."""
    with counting_relays(azurite.blob_endpoint, azurite.queue_endpoint, azurite.table_endpoint) as relays:
        blob, queue, table = relays
        setting = (f"AccountName={ACCOUNT};AccountKey={ACCOUNT_KEY};"
                   f"BlobEndpoint={blob.url};QueueEndpoint={queue.url};TableEndpoint={table.url}")
        root = CompositionRoot({**VALID, "AzureWebJobsStorage": setting})
        health = app_handler(root, "health")
        try:
            answers = [await get(health, "/api/health") for _ in range(10)]
        finally:
            await root.aclose()
        assert [status for status, _, _ in answers] == [200] * 10
        assert sum(relay.total for relay in relays) == 3, [relay.requests for relay in relays]
        storage = answers[-1][1]["storage"]
        assert storage["usable"] is True and storage["credentialsAccepted"] is True
        assert storage["checkedAt"] == answers[0][1]["storage"]["checkedAt"]
        assert 0 <= storage["ageSeconds"] <= 30
