"""GET /api/health (docs/spec.md#25-get-apihealth): are the settings valid? Reveals no secret."""

from __future__ import annotations

from typing import TYPE_CHECKING

import azure.functions as func

from http_api.problems import answers_problems, json_response

if TYPE_CHECKING:
    from entry.composition_root import CompositionRoot


def blueprint(root: CompositionRoot) -> func.Blueprint:
    bp = func.Blueprint()

    @bp.function_name(name="health")
    @bp.route(route="health", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
    @answers_problems
    async def health(req: func.HttpRequest) -> func.HttpResponse:
        root.settings()  # a SettingsError becomes 503 naming each misconfigured setting
        return json_response({"status": "ok"})

    return bp
