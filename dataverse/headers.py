"""Every Dataverse header the client sends or reads, in one place."""

from __future__ import annotations

API_PATH = "/api/data/v9.2/"

ACCEPT = "Accept"
AUTHORIZATION = "Authorization"
CONTENT_TYPE = "Content-Type"
IF_MATCH = "If-Match"
IF_NONE_MATCH = "If-None-Match"
PREFER = "Prefer"
ODATA_ENTITY_ID = "OData-EntityId"
RETRY_AFTER = "Retry-After"
CLIENT_REQUEST_ID = "x-ms-client-request-id"
SERVICE_REQUEST_ID = "x-ms-service-request-id"
BATCH_REQUEST_ID = "REQ_ID"
DOP_HINT = "x-ms-dop-hint"
CONTENT_ID = "Content-ID"

JSON = "application/json"

BASE: dict[str, str] = {
    ACCEPT: JSON,
    "OData-MaxVersion": "4.0",
    "OData-Version": "4.0",
}
"""Sent on every request (docs/dataverse-webapi.md#12-request-headers)."""

NO_CACHE: dict[str, str] = {IF_NONE_MATCH: "null"}
"""On reads, so a cached representation is never returned."""

RETURN_REPRESENTATION = "return=representation"
CONTINUE_ON_ERROR = "odata.continue-on-error"
ANY_ETAG = "*"


def max_page_size(size: int) -> str:
    return f"odata.maxpagesize={size}"


def prefer(*values: str) -> dict[str, str]:
    """One ``Prefer`` header holding every value (Dataverse accepts them comma-separated)."""
    present = [v for v in values if v]
    return {PREFER: ",".join(present)} if present else {}
