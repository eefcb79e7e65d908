"""Validate and normalise column values the way Dataverse stores them (docs/dataverse-webapi.md#2-tables, #83-error-codes, #10-dates-and-times)."""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime, timezone

from emulators.dataverse.model.schema import EDM_TYPES, Column, Kind, Table
from emulators.dataverse.model.service_errors import PAYLOAD, ServiceError

MIN_YEAR = 1753
INT32 = (-(2**31), 2**31 - 1)
DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _cannot_convert(value: object, column: Column) -> ServiceError:
    return ServiceError(
        400, PAYLOAD, f"Cannot convert the literal '{value}' to the expected type '{EDM_TYPES[column.kind]}'."
    )


def parse_guid(text: str) -> str | None:
    """Canonical lower-case GUID, or None; braces and other spellings are not accepted in URLs."""
    if len(text) != 36:
        return None
    try:
        return str(uuid.UUID(text))
    except ValueError:
        return None


def to_utc_text(text: str) -> str | None:
    """ISO-8601 date-time -> 'YYYY-MM-DDTHH:MM:SSZ' in UTC (fractions dropped), or None if malformed."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if "T" not in text and " " not in text:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)  # offset-less input read as UTC: UNCONFIRMED (docs/dataverse-webapi.md#10-dates-and-times)
    moment = moment.astimezone(timezone.utc)
    if moment.year < MIN_YEAR:
        return None
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def coerce(table: Table, column: Column, value: object) -> object:
    """The stored form of `value`, or a ServiceError with Dataverse's code for the problem."""
    if value is None:
        return None
    kind = column.kind
    if kind in (Kind.STRING, Kind.MEMO):
        if not isinstance(value, str):
            raise _cannot_convert(value, column)
        if column.max_length is not None and len(value) > column.max_length:
            raise ServiceError(
                400,
                "0x80044331",
                f"A validation error occurred. The length of the '{column.name}' attribute of the "
                f"'{table.logical_name}' entity exceeded the maximum allowed length of '{column.max_length}'.",
            )
        return value
    if kind in (Kind.INTEGER, Kind.BIGINT, Kind.PICKLIST, Kind.STATE, Kind.STATUS):
        if isinstance(value, bool) or not isinstance(value, int):
            raise _cannot_convert(value, column)
        if kind == Kind.INTEGER and not INT32[0] <= value <= INT32[1]:
            raise _cannot_convert(value, column)
        if kind in (Kind.PICKLIST, Kind.STATE, Kind.STATUS) and value not in column.options:
            raise ServiceError(
                400,
                "0x8004431A",
                f"A validation error occurred. The value {value} of '{column.name}' on record of type "
                f"'{table.logical_name}' is outside the valid range.",
            )
        return value
    if kind == Kind.DECIMAL:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _cannot_convert(value, column)
        return value
    if kind == Kind.BOOLEAN:
        if not isinstance(value, bool):
            raise _cannot_convert(value, column)
        return value
    if kind == Kind.DATETIME:
        normalised = to_utc_text(value) if isinstance(value, str) else None
        if normalised is None:
            raise _cannot_convert(value, column)
        return normalised
    if kind == Kind.DATEONLY:
        if not isinstance(value, str) or not DATE_ONLY.match(value):
            raise _cannot_convert(value, column)
        try:
            date.fromisoformat(value)
        except ValueError:
            raise _cannot_convert(value, column) from None
        return value
    if kind == Kind.GUID:
        guid = parse_guid(value) if isinstance(value, str) else None
        if guid is None:
            raise _cannot_convert(value, column)
        return guid
    raise _cannot_convert(value, column)


def formatted(column: Column, value: object) -> str | None:
    """The FormattedValue annotation text (US English, as the service answers by default)."""
    if value is None:
        return None
    if column.options:
        return column.options.get(value)  # type: ignore[call-overload]
    if column.kind == Kind.BOOLEAN:
        return "Yes" if value else "No"
    if column.kind == Kind.DATETIME:
        moment = datetime.strptime(str(value), "%Y-%m-%dT%H:%M:%SZ")
        return f"{moment.month}/{moment.day}/{moment.year} {moment.strftime('%I:%M %p').lstrip('0')}"
    if column.kind in (Kind.INTEGER, Kind.BIGINT):
        return f"{value:,}"
    if column.kind == Kind.DECIMAL:
        return f"{value:,.2f}"
    return None
