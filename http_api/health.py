"""GET /api/health (docs/spec.md#25-get-apihealth): are the settings valid, which optional features
are on, is the storage account reachable and usable? Reveals no secret.

- A misconfigured setting (``AzureWebJobsStorage`` included) answers 503 naming it.
- With storage configured, the account is probed (one cheap listing per service, at most
  ``STORAGE_PROBE_SECONDS``) and the result is reused for ``PROBE_FRESH_SECONDS`` (a usable
  account) or ``PROBE_FAILED_SECONDS`` (anything else), so a monitor polling every few seconds
  costs one probe per window, not one per call; the answer says when the probe ran. An
  unreachable or unusable account is still **200** with ``"usable": false``: App Service's
  health check takes an instance out of the load balancer (and eventually replaces it) on
  non-2xx answers, and a storage problem hits every instance at once, so a 503 here would pull
  the whole app while the routes that do not need storage still work and the ones that do
  answer 503 + Retry-After themselves.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

import azure.functions as func

from http_api.problems import answers_problems, json_response

if TYPE_CHECKING:
    from entry.composition_root import CompositionRoot
    from storage_client import StorageAccount

STORAGE_PROBE_SECONDS = 2.0
PROBE_FRESH_SECONDS = 30.0
"""How long a probe that found the account usable is reused."""
PROBE_FAILED_SECONDS = 10.0
"""How long a probe that found it unreachable or unusable is reused: shorter, so recovery shows soon."""
MAX_CACHED_PROBES = 16
"""Results kept per process (one per storage connection; a changed setting is another connection)."""


def blueprint(root: CompositionRoot) -> func.Blueprint:
    bp = func.Blueprint()
    probes = ProbeCache()  # one per process: function_app.py builds the app once

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
            "storage": {"configured": False} if storage is None else await probes.state(storage),
        })

    return bp


async def storage_state(storage: StorageAccount) -> dict[str, Any]:
    """Probe ``storage`` now: ``reachable``, ``credentialsAccepted`` when it answered, and ``usable``."""
    from storage_client.errors import StorageMisconfigured, StorageRefused, StorageUnavailable

    try:
        await storage.probe(seconds=STORAGE_PROBE_SECONDS)
    except StorageRefused:
        return {"configured": True, "reachable": True, "credentialsAccepted": False, "usable": False}
    except StorageMisconfigured:  # it answered, but the account or an endpoint in the setting is wrong
        return {"configured": True, "reachable": True, "usable": False}
    except StorageUnavailable:
        return {"configured": True, "reachable": False, "usable": False}
    return {"configured": True, "reachable": True, "credentialsAccepted": True, "usable": True}


@dataclass(frozen=True)
class _Probed:
    state: dict[str, Any]
    at: float
    """``time.monotonic()`` when the probe ended: ages are measured on it, never on the wall clock."""
    checked_at: str

    @property
    def keep_for(self) -> float:
        return PROBE_FRESH_SECONDS if self.state.get("usable") else PROBE_FAILED_SECONDS

    def answer(self, now: float) -> dict[str, Any]:
        return {**self.state, "checkedAt": self.checked_at, "ageSeconds": int(max(0.0, now - self.at))}


class ProbeCache:
    """The storage probe's results per connection, each reused while fresh; concurrent calls share one probe."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._results: dict[Any, _Probed] = {}
        self._running: dict[tuple[Any, asyncio.AbstractEventLoop], asyncio.Task[_Probed]] = {}

    async def state(self, storage: StorageAccount) -> dict[str, Any]:
        key = storage.connection
        found = self._results.get(key)
        if found is None or self._clock() - found.at >= found.keep_for:
            loop = asyncio.get_running_loop()
            task = self._running.get((key, loop))
            if task is None:
                task = loop.create_task(self._probe(key, storage))
                self._running[(key, loop)] = task
                task.add_done_callback(lambda _: self._running.pop((key, loop), None))
            found = await asyncio.shield(task)  # a caller cut short by its deadline leaves the probe to the others
        return found.answer(self._clock())

    async def _probe(self, key: Any, storage: StorageAccount) -> _Probed:
        state = await storage_state(storage)
        checked_at = datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")
        probed = _Probed(state, self._clock(), checked_at)
        self._results[key] = probed
        while len(self._results) > MAX_CACHED_PROBES:  # the oldest go first
            del self._results[min(self._results, key=lambda k: self._results[k].at)]
        return probed
