"""The HTTP layer: one blueprint per route group, built around the composition root.

Each module's ``blueprint(root)`` builds its routes around a
:class:`~entry.composition_root.CompositionRoot`, which hands every invocation its settings
and clients. Modules here import only the standard library and ``azure.functions`` at load
time; each handler imports its flow on first use. That keeps the cold start of
``function_app`` small (see ``benchmarks/``), because the host loads every blueprint before
the first request.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import azure.functions as func

    from entry.composition_root import CompositionRoot


def build_app(root: CompositionRoot) -> func.FunctionApp:
    """The Functions app: every route group's blueprint, all served with ``root``'s dependencies."""
    import azure.functions as func

    from http_api import appointment_webhook, booking_sessions, health, schedule_import

    app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)
    for routes in (health, booking_sessions, appointment_webhook, schedule_import):
        app.register_functions(routes.blueprint(root))
    return app
