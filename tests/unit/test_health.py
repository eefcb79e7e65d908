"""docs/spec.md#25-get-apihealth: GET /api/health says ok, or 503 naming what is misconfigured, never a secret."""

import asyncio
import json

import azure.functions as func

from entry.composition_root import CompositionRoot
from tests.support.handlers import app_handler

SECRET = "whsec_dGVzdC13ZWJob29rLXNlY3JldC0wMTIzNDU2Nzg5"


def call(**settings: str) -> func.HttpResponse:
    """GET /api/health of the app whose settings are exactly ``settings``."""
    health = app_handler(CompositionRoot(settings), "health")
    return asyncio.run(health(func.HttpRequest("GET", "/api/health", body=b"")))


def test_ok_when_settings_are_valid():
    resp = call(DATAVERSE_URL="https://contoso.crm.dynamics.com", BOOKING_API_URL="https://api.example.com",
                BOOKING_REDIRECT_URL="https://book.example.com/s/{sessionId}", BOOKING_WEBHOOK_SECRET=SECRET)
    assert resp.status_code == 200
    assert json.loads(resp.get_body()) == {
        "status": "ok", "features": {"webhookDeliveryRecords": False, "importJobs": False},
        "storage": {"configured": False},
    }


def test_503_names_the_settings_and_reveals_no_secret():
    resp = call(DATAVERSE_URL="https://contoso.crm.dynamics.com", DATAVERSE_AUTH="none",
                BOOKING_API_KEY="super-secret-api-key", BOOKING_WEBHOOK_SECRET=SECRET + " whsec_%%%")
    assert resp.status_code == 503
    assert resp.mimetype == "application/problem+json"
    body = json.loads(resp.get_body())
    assert body["status"] == 503 and body["title"]
    assert set(body["settings"]) == {"DATAVERSE_AUTH", "BOOKING_API_URL", "BOOKING_REDIRECT_URL", "BOOKING_WEBHOOK_SECRET"}
    text = resp.get_body().decode()
    assert "super-secret-api-key" not in text and SECRET not in text


VALID = dict(DATAVERSE_URL="https://contoso.crm.dynamics.com", BOOKING_API_URL="https://api.example.com",
             BOOKING_REDIRECT_URL="https://book.example.com/s/{sessionId}", BOOKING_WEBHOOK_SECRET=SECRET)


def test_a_malformed_storage_setting_is_503_naming_it_without_the_key():
    key = "c2VjcmV0LWtleS1vZi10aGUtYWNjb3VudA=="
    resp = call(**VALID, AzureWebJobsStorage=f"AccountName=Contoso;AccountKey={key}")
    assert resp.status_code == 503
    body = json.loads(resp.get_body())
    assert body["settings"] == ["AzureWebJobsStorage"] and "AzureWebJobsStorage" in body["detail"]
    assert key not in resp.get_body().decode()


def test_storage_on_but_unreachable_is_still_200_and_says_so():
    """Nothing listens on the discard port: an App Service health check must not pull instances for that."""
    closed = ";".join(f"{s}Endpoint=http://127.0.0.1:9/devstoreaccount1" for s in ("Blob", "Queue", "Table"))
    resp = call(**VALID, AzureWebJobsStorage=f"AccountName=devstoreaccount1;AccountKey={SECRET[6:]};{closed}")
    assert resp.status_code == 200
    answer = json.loads(resp.get_body())
    storage = answer.pop("storage")
    assert answer == {"status": "ok", "features": {"webhookDeliveryRecords": True, "importJobs": True}}
    assert {k: storage.pop(k) for k in ("checkedAt", "ageSeconds")}.keys() == {"checkedAt", "ageSeconds"}
    assert storage == {"configured": True, "reachable": False, "usable": False}


def test_a_failed_probe_is_reused_for_10_seconds_then_probed_again():
    """ProbeCache on a clock the test moves: ``ageSeconds`` grows while the result is reused, and is 0 again
    after a fresh probe (nothing listens on the discard port, so every probe fails quickly)."""
    from http_api.health import PROBE_FAILED_SECONDS, ProbeCache
    from storage_client import StorageAccount, storage_connection

    closed = ";".join(f"{s}Endpoint=http://127.0.0.1:9/devstoreaccount1" for s in ("Blob", "Queue", "Table"))
    connection = storage_connection({"AzureWebJobsStorage": f"AccountName=devstoreaccount1;AccountKey={SECRET[6:]};{closed}"})
    now = [1000.0]
    cache = ProbeCache(clock=lambda: now[0])

    async def ages() -> list[int]:
        storage = StorageAccount(connection, timeout=2)
        seen = []
        try:
            for moved in (0.0, PROBE_FAILED_SECONDS - 0.5, 0.5):
                now[0] += moved
                state = await cache.state(storage)
                assert state["usable"] is False
                seen.append(state["ageSeconds"])
        finally:
            await storage.aclose()
        return seen

    assert asyncio.run(ages()) == [0, int(PROBE_FAILED_SECONDS - 0.5), 0]
