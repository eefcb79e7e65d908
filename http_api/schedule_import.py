"""POST /api/schedules/import (docs/spec.md#24-post-apischedulesimport): a WEM system's committed schedules into Dataverse."""

from __future__ import annotations

from typing import TYPE_CHECKING

import azure.functions as func

from http_api.problems import answers_problems, json_response

if TYPE_CHECKING:
    from entry.composition_root import CompositionRoot


def blueprint(root: CompositionRoot) -> func.Blueprint:
    bp = func.Blueprint()

    @bp.function_name(name="import_schedules")
    @bp.route(route="schedules/import", methods=["POST"], auth_level=func.AuthLevel.FUNCTION)
    @answers_problems(deadline=200)
    async def import_schedules(req: func.HttpRequest) -> func.HttpResponse:
        from integration.schedules.importer import import_from_body

        summary = await import_from_body(root.dependencies(), req.get_body())
        return json_response(summary.model_dump(), headers={"Cache-Control": "no-store"})

    return bp
