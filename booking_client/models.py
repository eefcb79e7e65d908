"""The booking API's wire shapes (docs/spec.md#3-the-booking-api-the-app-calls), validated at the edge with pydantic."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, field_validator

_WIRE = ConfigDict(validate_by_name=True, validate_by_alias=True, serialize_by_alias=True, frozen=True)


class Customer(BaseModel):
    """The customer as Dataverse knows them; any field may be unknown (``None``)."""

    model_config = _WIRE

    first_name: str | None = Field(default=None, alias="firstName")
    last_name: str | None = Field(default=None, alias="lastName")
    email: str | None = None
    phone: str | None = None


class CrmReference(BaseModel):
    """The Dataverse record the booking is for; the booking system echoes it in its webhooks."""

    model_config = _WIRE

    entity: Literal["lead", "contact"]
    id: UUID


class SessionRequest(BaseModel):
    model_config = _WIRE

    appointment_id: str | None = Field(default=None, alias="appointmentId")
    customer: Customer
    crm_reference: CrmReference = Field(alias="crmReference")


class Session(BaseModel):
    """A booking session as answered by the API.

    ``sessionId`` must be a JSON string with a non-blank character (no number coerced into
    one); ``expiresAt`` an ISO-8601 string or null. A time without an offset is read as UTC;
    every time is kept in UTC, so one that UTC cannot represent (year 9999 with a negative
    offset, year 1 with a positive one) is an invalid answer, not an overflow later on.
    """

    model_config = ConfigDict(validate_by_name=True, validate_by_alias=True, frozen=True, extra="ignore")

    session_id: str = Field(alias="sessionId", strict=True, min_length=1, max_length=1024, pattern=r"\S")
    expires_at: datetime | None = Field(default=None, alias="expiresAt", strict=True)

    @field_validator("expires_at")
    @classmethod
    def _in_utc(cls, value: datetime | None) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        try:
            return value.astimezone(timezone.utc)
        except OverflowError:
            raise ValueError("lies outside the range of representable UTC times") from None
