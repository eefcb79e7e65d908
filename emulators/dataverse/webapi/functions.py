"""Unbound functions: `WhoAmI` / `WhoAmI()`.

WhoAmI answers the calling user's ids: the systemuser the bearer token maps to under
--auth entra, and the seeded systemuser `CALLER_USER_ID` under --auth none (docs/emulator.md#whoami).
"""

from __future__ import annotations

from emulators.dataverse.model.seed import BUSINESS_UNIT_ID, CALLER_USER_ID, ORGANIZATION_ID
from emulators.dataverse.model.service_errors import ServiceError, bad_query
from emulators.dataverse.webapi.messages import ApiRequest, Reply
from emulators.dataverse.webapi.paths import Segment

FUNCTIONS = ("WhoAmI",)


def is_function(segments: list[Segment]) -> bool:
    return len(segments) == 1 and segments[0].name in FUNCTIONS and segments[0].key in (None, "")


def call_function(request: ApiRequest, segments: list[Segment]) -> Reply:
    if request.method != "GET":
        raise ServiceError(
            405, "0x80060888", f"The requested resource does not support http method '{request.method}'."
        )
    for name, _ in request.query:
        if name.startswith("$"):
            raise bad_query(f"The query parameter '{name}' is not supported on the function 'WhoAmI'.")
    body = {
        "@odata.context": f"{request.base_url}$metadata#Microsoft.Dynamics.CRM.WhoAmIResponse",
        "BusinessUnitId": BUSINESS_UNIT_ID,
        "UserId": request.caller.user_id if request.caller is not None else CALLER_USER_ID,
        "OrganizationId": ORGANIZATION_ID,
    }
    return Reply.json(200, body)
