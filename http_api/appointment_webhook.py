"""POST /api/webhooks/appointments (docs/spec.md#23-post-apiwebhooksappointments): signed pushes from the booking system.

Anonymous at the Functions level: the Standard Webhooks signature is the authentication.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import azure.functions as func

from http_api.problems import answers_problems, json_response

if TYPE_CHECKING:
    from entry.composition_root import CompositionRoot


def blueprint(root: CompositionRoot) -> func.Blueprint:
    bp = func.Blueprint()

    @bp.function_name(name="appointment_webhook")
    @bp.route(route="webhooks/appointments", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
    @answers_problems
    async def appointment_webhook(req: func.HttpRequest) -> func.HttpResponse:
        from integration.appointments.webhook import handle_delivery

        return json_response(await handle_delivery(root.dependencies(), req.get_body(), dict(req.headers)))

    return bp
