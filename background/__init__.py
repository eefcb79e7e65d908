"""Non-HTTP functions (timers, queues): the entry layer for background work.

``function_app.py`` calls :func:`register` after the HTTP blueprints. Every function here needs
the app's storage account (the host keeps timer schedules and queue messages there), so none is
registered without ``AzureWebJobsStorage``: the host would refuse to start them. The setting is
read when the worker indexes the app (like ``SESSION_AUTH``); whether it is valid is reported by
every request and by ``/api/health``.

Each module listed in :func:`register` has ``blueprint(root)``; a new one is added to that list
(imported by name there, so the deploy-package test sees it as needed).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import azure.functions as func

    from entry.composition_root import CompositionRoot


def register(app: func.FunctionApp, root: CompositionRoot) -> None:
    """Register the background functions on ``app`` when storage is configured."""
    if not root.storage_configured():
        return
    from background import housekeeping  # hourly purge of expired webhook delivery records

    for module in (housekeeping,):
        app.register_functions(module.blueprint(root))
