"""GET /api/health (docs/spec.md#25-get-apihealth): are the settings valid, which optional features
are on, is the storage account reachable? Reveals no secret.

- A misconfigured setting (``AzureWebJobsStorage`` included) answers 503 naming it.
- With storage configured, each call probes it (one cheap listing per service, at most
  ``STORAGE_PROBE_SECONDS``). An unreachable account is still **200** with
  ``"reachable": false``: App Service's health check takes an instance out of the load balancer
  (and eventually replaces it) on non-2xx answers, and a storage blip hits every instance at
  once, so a 503 here would pull the whole app while the routes that do not need storage
  still work and the ones that do answer 503 + Retry-After themselves.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import azure.functions as func

from http_api.problems import answers_problems, json_response

if TYPE_CHECKING:
    from entry.composition_root import CompositionRoot
    from storage_client import StorageAccount

STORAGE_PROBE_SECONDS = 2.0


def blueprint(root: CompositionRoot) -> func.Blueprint:
    bp = func.Blueprint()

    @bp.function_name(name="health")
    @bp.route(route="health", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
    @answers_problems
    async def health(req: func.HttpRequest) -> func.HttpResponse:
        settings = root.settings()  # a SettingsError becomes 503 naming each misconfigured setting
        storage = root.storage(settings)
        on = storage is not None
        return json_response({
            "status": "ok",
            "features": {"webhookDeliveryRecords": on, "importJobs": on},
            "storage": await storage_state(storage),
        })

    return bp


async def storage_state(storage: StorageAccount | None) -> dict[str, Any]:
    """``{"configured": false}``, or configured with ``reachable`` (and ``credentialsAccepted`` when it is)."""
    if storage is None:
        return {"configured": False}
    from storage_client.errors import StorageRefused, StorageUnavailable

    try:
        await storage.probe(seconds=STORAGE_PROBE_SECONDS)
    except StorageRefused:
        return {"configured": True, "reachable": True, "credentialsAccepted": False}
    except StorageUnavailable:
        return {"configured": True, "reachable": False}
    return {"configured": True, "reachable": True, "credentialsAccepted": True}
