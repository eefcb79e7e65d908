"""Instants as Dataverse stores them: UTC, between 1753 and 9999.

Converting an offset time near the end of the calendar to UTC raises ``OverflowError``,
which pydantic does not turn into a validation error; this makes it (and dates Dataverse
cannot store) a ``ValueError``, i.e. a 400 naming the field.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime

DATAVERSE_MIN_YEAR = 1753


def utc_instant(value: datetime) -> datetime:
    try:
        utc = value.astimezone(timezone.utc)
    except OverflowError:
        raise ValueError("is out of range") from None
    if utc.year < DATAVERSE_MIN_YEAR:
        raise ValueError(f"must not be before {DATAVERSE_MIN_YEAR} (Dataverse's earliest date)")
    return utc


UtcDateTime = Annotated[AwareDatetime, AfterValidator(utc_instant)]
"""An ISO-8601 time with an offset or ``Z``, held in UTC."""
