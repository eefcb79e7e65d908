"""The non-HTTP functions (queue and timer triggers), registered only when the app has a storage account.

Each module's ``blueprint(root)`` declares its triggers around the composition root; without
``AzureWebJobsStorage`` none is registered, so the host never listens on a queue that cannot
exist. Like ``http_api``, modules here import only ``azure.functions`` at load time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import azure.functions as func

    from entry.composition_root import CompositionRoot


def register(app: func.FunctionApp, root: CompositionRoot) -> None:
    """Add the storage-backed background functions to ``app`` (nothing without storage)."""
    if not root.storage_configured():
        return
    from background import import_jobs

    for module in (import_jobs,):
        app.register_functions(module.blueprint(root))
