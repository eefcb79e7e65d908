"""Hourly housekeeping in the storage account: delete webhook delivery records and appointment
markers past their retention (docs/storage.md). Table storage has no time-to-live, so this timer
is what keeps the table at about three days of deliveries.

Minute 17 of every hour (NCRONTAB with seconds), off the top of the hour when other jobs start;
not on start-up, so a restart loop cannot multiply the work. The host runs a timer function on
one instance at a time (a blob lease in the storage account).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import azure.functions as func

if TYPE_CHECKING:
    from entry.composition_root import CompositionRoot

log = logging.getLogger("integration.housekeeping")
SCHEDULE = "0 17 * * * *"


def blueprint(root: CompositionRoot) -> func.Blueprint:
    bp = func.Blueprint()

    @bp.function_name(name="purge_webhook_deliveries")
    @bp.timer_trigger(schedule=SCHEDULE, arg_name="timer", run_on_startup=False)
    async def purge_webhook_deliveries(timer: func.TimerRequest) -> None:
        await purge(root)

    return bp


async def purge(root: CompositionRoot) -> int:
    """One purge run with ``root``'s storage account; the number of rows deleted (0 without storage)."""
    from datetime import datetime, timezone

    from integration.appointments.delivery_records import purge_expired

    settings = root.settings()  # a SettingsError fails the run: the host logs it, health names the setting
    storage = root.storage(settings)
    if storage is None:
        return 0
    removed = await purge_expired(storage, datetime.now(timezone.utc))
    log.info("housekeeping: %d expired webhook delivery records and appointment markers deleted", removed)
    return removed
