"""POST /api/schedules/import (docs/spec.md#24-post-apischedulesimport): a WEM system's committed schedules into
Dataverse; GET /api/schedules/import/jobs/{jobId} (docs/spec.md#26-get-apischedulesimportjobsjobid): a job's status."""

from __future__ import annotations

from typing import TYPE_CHECKING

import azure.functions as func

from http_api.preferences import prefers_async
from http_api.problems import answers_problems, json_response

if TYPE_CHECKING:
    from entry.composition_root import CompositionRoot
    from integration.schedules.jobs import Submitted

NO_STORE = {"Cache-Control": "no-store"}


def accepted(submitted: Submitted, *, preference_applied: bool) -> func.HttpResponse:
    """202 with where to ask for the job's status, and when."""
    headers = {**NO_STORE, "Location": submitted.status_path, "Retry-After": str(submitted.retry_after)}
    if preference_applied:
        headers["Preference-Applied"] = "respond-async"
    return json_response(submitted.document(), status=202, headers=headers)


def blueprint(root: CompositionRoot) -> func.Blueprint:
    bp = func.Blueprint()

    @bp.function_name(name="import_schedules")
    @bp.route(route="schedules/import", methods=["POST"], auth_level=func.AuthLevel.FUNCTION)
    @answers_problems(deadline=200)
    async def import_schedules(req: func.HttpRequest) -> func.HttpResponse:
        from integration.schedules import jobs

        dependencies = root.dependencies()
        if jobs.jobs_on(dependencies) and prefers_async(req.headers.get("Prefer")):
            return accepted(await jobs.submit(dependencies, req.get_body()), preference_applied=True)
        outcome = await jobs.import_or_hand_over(dependencies, req.get_body())
        if isinstance(outcome, jobs.Submitted):
            return accepted(outcome, preference_applied=False)
        return json_response(outcome.model_dump(), headers=NO_STORE)

    @bp.function_name(name="import_job_status")
    @bp.route(route="schedules/import/jobs/{jobId}", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
    @answers_problems
    async def import_job_status(req: func.HttpRequest) -> func.HttpResponse:
        from integration.schedules import jobs

        document = await jobs.status(root.dependencies(), req.route_params.get("jobId", ""))
        headers = dict(NO_STORE)
        if document["status"] in ("queued", "running"):
            headers["Retry-After"] = str(jobs.retry_after_for(document["progress"]["segments"] - document["progress"]["done"]))
        return json_response(document, headers=headers)

    return bp
