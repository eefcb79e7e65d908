"""Timestamps as the sandbox writes and reads them: ISO-8601 with an offset or ``Z``."""

from __future__ import annotations

from datetime import datetime, timezone


def now() -> datetime:
    return datetime.now(timezone.utc)


def iso(moment: datetime, *, millis: bool = False) -> str:
    """UTC renders with ``Z``; other offsets as ``+hh:mm``."""
    text = moment.isoformat(timespec="milliseconds" if millis else "seconds")
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def parse(text: str) -> datetime:
    """Parse an ISO-8601 time that carries an offset; naive times are refused."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError("time needs an offset or Z")
    return moment
