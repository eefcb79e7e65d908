"""What every error answer of docs/spec.md#2-http-api must look like (RFC 9457)."""

from __future__ import annotations

from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any

import httpx


def problem(answer: httpx.Response, status: int | tuple[int, ...]) -> dict[str, Any]:
    statuses = (status,) if isinstance(status, int) else status
    assert answer.status_code in statuses, (answer.status_code, answer.text[:500])
    assert answer.headers.get("content-type", "").startswith("application/problem+json"), answer.headers
    body = answer.json()
    for field in ("type", "title", "detail"):
        assert isinstance(body.get(field), str) and body[field], (field, body)
    assert body.get("status") == answer.status_code, body
    assert "Traceback" not in answer.text and 'File "' not in answer.text, answer.text
    return body


def retry_after(answer: httpx.Response) -> int:
    """The Retry-After of a 503/504 in seconds (RFC 9110: delay-seconds or an HTTP date)."""
    value = answer.headers.get("retry-after")
    assert value is not None, answer.headers
    if value.strip().isdigit():
        return int(value)
    moment = parsedate_to_datetime(value)
    return max(0, int((moment - datetime.now(timezone.utc)).total_seconds()))


def unavailable(answer: httpx.Response, statuses: tuple[int, ...] = (503, 504)) -> dict[str, Any]:
    body = problem(answer, statuses)
    retry_after(answer)
    return body
