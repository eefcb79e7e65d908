"""docs/business-steps.md#11-session-request, #12-redirect: send the customer's details to the booking system, get a session,
send the agent to the booking page for it.

The caller names a lead or contact; everything about the customer is read from Dataverse,
never taken from the request. An ``appointmentId`` (a reschedule) is accepted only when the
appointment this integration created for that booking-system id regards the same record, so
a session can never move one customer's appointment to another. Whatever session id the
booking API returns, the redirect stays on the configured booking host.

The reads go through the client the caller is given: the app's own Dataverse client, or
(``SESSION_AUTH=entra``) one acting as the signed-in user, so that Dataverse's record-level
security decides and a record the user may not read is a 404 like a missing one.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import quote, urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from booking_client import CrmReference, Customer, SessionRequest
from dataverse import request_builders
from dataverse.errors import Forbidden, NotFound
from integration.appointments.keys import appointment_row_id
from integration.dependencies import Dependencies
from integration.errors import FieldProblem, InvalidInput, PayloadTooLarge, RecordNotFound, UpstreamRejected
from integration.json_input import json_path, parse_json
from integration.settings import SESSION_PLACEHOLDER

if TYPE_CHECKING:
    from dataverse import DataverseClient

MAX_BODY_BYTES = 16 * 1024
CUSTOMER_COLUMNS = ("firstname", "lastname", "emailaddress1", "telephone1", "mobilephone")
ENTITY_SETS = {"lead": "leads", "contact": "contacts"}
# Fixed namespace so the same click gives the same key in every worker process.
IDEMPOTENCY_NAMESPACE = uuid.UUID("6f1d7c3e-2b8a-5e4f-9a61-0c5d2b7e8f14")


class Regarding(BaseModel):
    model_config = ConfigDict(frozen=True)

    entity: Literal["lead", "contact"]
    id: uuid.UUID


class BookingSessionRequest(BaseModel):
    """What the ribbon button may say. Other fields (a ``customer``, say) are ignored, not trusted."""

    model_config = ConfigDict(frozen=True, validate_by_name=True, validate_by_alias=True)

    regarding: Regarding
    appointment_id: str | None = Field(
        default=None, alias="appointmentId", strict=True, min_length=1, max_length=100, pattern=r"^[^\x00-\x1f\x7f]+$"
    )


class BookingSession(BaseModel):
    """The answer of docs/spec.md#21-post-apibooking-sessions."""

    model_config = ConfigDict(frozen=True, validate_by_name=True, serialize_by_alias=True)

    session_id: str = Field(alias="sessionId")
    redirect_url: str = Field(alias="redirectUrl")
    expires_at: datetime | None = Field(alias="expiresAt")

    def as_json(self) -> dict[str, Any]:
        expires = self.expires_at.astimezone(timezone.utc).isoformat().replace("+00:00", "Z") if self.expires_at else None
        return {"sessionId": self.session_id, "redirectUrl": self.redirect_url, "expiresAt": expires}


def request_from_body(body: bytes) -> BookingSessionRequest:
    """Step 0 for ``POST``: the JSON body, capped in size, every problem reported by JSON path."""
    if len(body) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"The body is larger than {MAX_BODY_BYTES} bytes.")
    return _validated(parse_json(body), json_path)


def request_from_query(params: Mapping[str, str]) -> BookingSessionRequest:
    """Step 0 for ``GET .../redirect``: ``entity``, ``id`` and optional ``appointmentId`` query parameters."""
    data: dict[str, Any] = {"regarding": {"entity": params.get("entity"), "id": params.get("id")}}
    if params.get("appointmentId"):  # an empty parameter (a URL template with nothing filled in) means none
        data["appointmentId"] = params["appointmentId"]
    return _validated(data, _query_name)


LOOKUP_TABLE = 'odata.include-annotations="Microsoft.Dynamics.CRM.lookuplogicalname"'
"""Asks Dataverse which table ``_regardingobjectid_value`` points at (the lookup is polymorphic)."""


async def start_booking_session(dependencies: Dependencies, request: BookingSessionRequest,
                                *, as_user: DataverseClient | None = None,
                                now: datetime | None = None) -> BookingSession:
    """Steps 1-2: read the customer, ask the booking API for a session, build the redirect.

    ``as_user`` is a Dataverse client acting as the signed-in caller (on-behalf-of): the
    customer and the appointment are then read with the caller's rights, and a record
    Dataverse refuses to show them (403) is answered like a missing one. Without it the
    app's own client reads them.
    """
    reader = as_user or dependencies.dataverse
    hidden = (NotFound, Forbidden) if as_user is not None else (NotFound,)
    customer = await read_customer(reader, request.regarding, hidden=hidden)
    if request.appointment_id is not None:
        await check_appointment_regards(
            reader, dependencies.settings.booking_source, request.appointment_id, request.regarding, hidden=hidden
        )

    session = await dependencies.booking.create_session(
        SessionRequest(
            appointment_id=request.appointment_id,
            customer=customer,
            crm_reference=CrmReference(entity=request.regarding.entity, id=request.regarding.id),
        ),
        idempotency_key=idempotency_key(request, now or datetime.now(timezone.utc)),
    )
    return BookingSession(
        session_id=session.session_id,
        redirect_url=redirect_url(dependencies.settings.booking_redirect_url, session.session_id),
        expires_at=session.expires_at,
    )


async def read_customer(dataverse: DataverseClient, regarding: Regarding,
                        *, hidden: tuple[type[Exception], ...] = (NotFound,)) -> Customer:
    """The customer's name, email and phone as Dataverse has them (mobile phone when there is no main one).

    ``hidden``: the Dataverse errors that mean "no such record for this caller" (404).
    """
    try:
        row = await dataverse.retrieve(
            ENTITY_SETS[regarding.entity], str(regarding.id), select=list(CUSTOMER_COLUMNS)
        )
    except hidden:
        raise RecordNotFound(f"There is no {regarding.entity} with id {regarding.id}.") from None
    return Customer(
        first_name=_text(row.get("firstname")),
        last_name=_text(row.get("lastname")),
        email=_text(row.get("emailaddress1")),
        phone=_text(row.get("telephone1")) or _text(row.get("mobilephone")),
    )


async def check_appointment_regards(dataverse: DataverseClient, source: str, appointment_id: str,
                                    regarding: Regarding,
                                    *, hidden: tuple[type[Exception], ...] = (NotFound,)) -> None:
    """The appointment the webhook sync created for ``appointment_id`` exists and regards ``regarding``.

    The sync gives that appointment a deterministic id (``appointment_row_id``), so one read
    by primary key finds it; the regarding lookup is compared by table and id. Anything else
    (no such appointment, another customer's, one the caller may not read) is a 404, raised
    before the booking API is called.
    """
    not_found = RecordNotFound(f"There is no appointment {appointment_id!r} for this {regarding.entity}.")
    request = request_builders.retrieve(
        "appointments", appointment_row_id(source, appointment_id), select=["_regardingobjectid_value"]
    )
    try:
        response = await dataverse.send(replace(request, headers={**request.headers, "Prefer": LOOKUP_TABLE}))
        row = response.json()
    except hidden:
        raise not_found from None
    except ValueError:  # not JSON: an answer we cannot judge is not an owned appointment
        raise not_found from None
    if not isinstance(row, dict):
        raise not_found
    stored_id = str(row.get("_regardingobjectid_value") or "").lower()
    stored_table = row.get("_regardingobjectid_value@Microsoft.Dynamics.CRM.lookuplogicalname")
    if stored_id != str(regarding.id) or stored_table != regarding.entity:
        raise not_found


def idempotency_key(request: BookingSessionRequest, now: datetime) -> str:
    """Same record, appointment and minute, same key: a double click gets one session, a later click a new one."""
    minute = now.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M")
    name = "|".join((request.regarding.entity, str(request.regarding.id), request.appointment_id or "", minute))
    return str(uuid.uuid5(IDEMPOTENCY_NAMESPACE, name))


def redirect_url(template: str, session_id: str) -> str:
    """``template`` with ``{sessionId}`` replaced by the percent-encoded id; refuses anything leaving the booking host."""
    if session_id in (".", ".."):  # a dot segment survives percent-encoding (WHATWG URLs decode %2E)
        raise UpstreamRejected("The booking API returned an unusable session id.")
    url = template.replace(SESSION_PLACEHOLDER, quote(session_id, safe=""))
    if _origin(url) != _origin(template.replace(SESSION_PLACEHOLDER, "x")):
        raise UpstreamRejected("The booking API returned a session id that would leave the booking host.")
    return url


def _origin(url: str) -> tuple[str, str | None, int | None]:
    parts = urlsplit(url)
    return parts.scheme.lower(), parts.hostname, parts.port


def _text(value: object) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


_MESSAGES = {
    "literal_error": "must be 'lead' or 'contact'",
    "uuid_parsing": "must be a GUID",
    "uuid_type": "must be a GUID",
    "missing": "is required",
    "model_type": "must be an object",
    "model_attributes_type": "must be an object",
    "string_type": "must be a string",
    "string_too_short": "must not be empty",
    "string_too_long": "must be at most 100 characters",
    "string_pattern_mismatch": "must not contain control characters",
}


Loc = tuple[int | str, ...]


def _query_name(loc: Loc) -> str:
    return str(loc[-1]) if loc else "query"


def _validated(data: Any, path_of: Callable[[Loc], str]) -> BookingSessionRequest:
    try:
        return BookingSessionRequest.model_validate(data)
    except ValidationError as exc:
        problems = [FieldProblem(path_of(error["loc"]), _MESSAGES.get(error["type"], error["msg"])) for error in exc.errors()]
        raise InvalidInput("The request is invalid.", problems) from None


