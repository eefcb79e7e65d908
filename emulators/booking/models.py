"""Shapes the sandbox accepts at its HTTP edges (its own models: nothing shared with the clients)."""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

Text = Field(default=None, max_length=200)


class CustomerIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    firstName: str | None = Text
    lastName: str | None = Text
    email: str | None = Text
    phone: str | None = Field(default=None, max_length=50)


class CrmReferenceIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    entity: Literal["lead", "contact"]
    id: str

    @field_validator("id")
    @classmethod
    def _guid(cls, value: str) -> str:
        try:
            uuid.UUID(value)
        except ValueError:
            raise ValueError("must be a GUID") from None
        return value


class SessionIn(BaseModel):
    """Body of ``POST /api/sessions`` (docs/spec.md#3-the-booking-api-the-app-calls)."""

    model_config = ConfigDict(extra="ignore")

    appointmentId: str | None = Field(default=None, min_length=1, max_length=100)
    customer: CustomerIn
    crmReference: CrmReferenceIn


class BookIn(BaseModel):
    """Body of ``POST /_sandbox/book``."""

    sessionId: str
    start: str | None = None
    end: str | None = None
    subject: str | None = None
    location: str | None = None
    notes: str | None = None


class RescheduleIn(BaseModel):
    start: str
    end: str | None = None


class FailNextIn(BaseModel):
    n: int = Field(default=1, ge=1, le=1000)
    mode: Literal["error500", "reject400", "garbage", "hang", "throttle", "unavailable503"]
    retryAfter: str | None = Field(default=None, max_length=1000)


class ConfigIn(BaseModel):
    webhookUrl: str | None = None
    webhookSecret: str | None = None
    apiKey: str | None = None


class SessionIdsIn(BaseModel):
    ids: list[str]


class ExpiresAtIn(BaseModel):
    values: list[str]
