"""The booking system's appointment event (docs/spec.md#23-post-apiwebhooksappointments), validated at the edge.

Every problem in a body is reported at once, by JSON path, so the sender's developer can fix
a payload in one round. Event types we do not handle are recognised before the ``data``
block is validated: they are acknowledged, not rejected.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic_core import PydanticCustomError

from integration.errors import FieldProblem, InvalidInput
from integration.json_input import json_path, parse_json
from integration.times import UtcDateTime

HANDLED_TYPES = frozenset({"appointment.created", "appointment.updated", "appointment.cancelled", "appointment.canceled"})

Status = Literal["scheduled", "cancelled", "completed"]
Guid = Annotated[
    str,
    StringConstraints(pattern=r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"),
    BeforeValidator(lambda v: v.lower() if isinstance(v, str) else v),
]
Email = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=100, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$"),
]
Text = Annotated[str, StringConstraints(strip_whitespace=True)]
"""Free text; the mapping fits it to Dataverse column lengths rather than losing the appointment."""


def _spelling(value: Any) -> Any:
    """Accept the American ``canceled`` wherever ``cancelled`` is."""
    return "cancelled" if value == "canceled" else value


class _Model(BaseModel):
    model_config = ConfigDict(strict=True, frozen=True, extra="ignore")


class Customer(_Model):
    firstName: Text | None = None
    lastName: Text | None = None
    email: Email | None = None
    phone: Text | None = None


class CrmReference(_Model):
    entity: Literal["lead", "contact"]
    id: Guid


class Staff(_Model):
    email: Email | None = None


class AppointmentData(_Model):
    appointmentId: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    status: Annotated[Status, BeforeValidator(_spelling)]
    updatedAt: UtcDateTime
    start: UtcDateTime
    end: UtcDateTime
    subject: Text | None = None
    location: Text | None = None
    notes: Text | None = None
    crmReference: CrmReference | None = None
    customer: Customer | None = Field(default=None, validate_default=True)
    sessionId: Annotated[str, StringConstraints(max_length=200)] | None = None
    staff: Staff | None = None

    @field_validator("end")
    @classmethod
    def _end_after_start(cls, end: datetime, info: ValidationInfo) -> datetime:
        start = info.data.get("start")
        if start is not None and end <= start:
            raise PydanticCustomError("end_before_start", "must be after start")
        return end

    @field_validator("customer")
    @classmethod
    def _someone_to_match(cls, customer: Customer | None, info: ValidationInfo) -> Customer | None:
        if "crmReference" not in info.data:
            return customer  # crmReference itself is invalid: reported there
        if info.data["crmReference"] is None and (customer is None or customer.email is None):
            raise PydanticCustomError("email_required", "is required unless crmReference is given")
        return customer


class AppointmentEvent(_Model):
    type: str
    timestamp: AwareDatetime | None = None
    data: AppointmentData


def parse_event(body: bytes) -> AppointmentEvent | None:
    """Validate a verified body; ``None`` for an event type this app does not handle."""
    document = parse_json(body)
    if not isinstance(document, dict):
        raise InvalidInput("The body must be a JSON object.", problems=[FieldProblem("$", "must be an object")])
    event_type = document.get("type")
    if isinstance(event_type, str) and event_type not in HANDLED_TYPES:
        return None
    try:
        return AppointmentEvent.model_validate_json(body)  # JSON mode: strict yet reads ISO strings
    except ValidationError as exc:
        raise InvalidInput(
            f"The appointment event has {exc.error_count()} problem(s).", problems=_problems(exc)
        ) from None


def _problems(exc: ValidationError) -> list[FieldProblem]:
    problems = []
    for error in exc.errors(include_url=False, include_input=False):
        loc = tuple(error["loc"])
        if error["type"] == "email_required":
            loc = (*loc, "email")
        problems.append(FieldProblem(json_path(loc), _message(error)))
    return problems


def _message(error: Any) -> str:
    if error["type"] == "missing":
        return "is required"
    if error["type"] == "timezone_aware":
        return "must carry a UTC offset or Z"
    if error["type"] == "literal_error" and error["loc"][-1] == "status":
        return "must be one of scheduled, cancelled, canceled, completed"
    if error["type"] == "string_pattern_mismatch":
        return "is not a valid email address" if error["loc"][-1] == "email" else "is not a valid GUID"
    return str(error["msg"])
