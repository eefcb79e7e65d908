"""What every answer to hostile input must look like (docs/spec.md#2-http-api)."""

from __future__ import annotations

import json
from typing import Any

import httpx

PROBLEM_JSON = "application/problem+json"
RETRYABLE = {503, 504}
_LEAKS = ("Traceback (most recent call last)", 'File "/', "site-packages", "Exception:")


def problem_violations(status: int, headers: Any, body: bytes) -> list[str]:
    """Every way an answer breaks the contract's error rules; empty when it keeps them."""
    found: list[str] = []
    text = body.decode("utf-8", "replace")
    if any(leak in text for leak in _LEAKS):
        found.append("the answer shows a stack trace or code paths")
    if status >= 500 and status not in RETRYABLE:
        found.append(f"{status}: only 503/504 may answer with 5xx")
    if status in RETRYABLE and not headers.get("retry-after", "").isdigit():
        found.append(f"{status} without an integer Retry-After")
    if status < 400:
        return found
    media_type = headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != PROBLEM_JSON:
        found.append(f"{status} answered as {media_type or 'no content type'}, not {PROBLEM_JSON}")
        return found
    try:
        document = json.loads(body)
    except ValueError:
        return [*found, f"{status}: the problem document is not JSON"]
    if not isinstance(document, dict):
        return [*found, f"{status}: the problem document is not an object"]
    for member, kind in (("type", str), ("title", str), ("status", int)):
        if not isinstance(document.get(member), kind):
            found.append(f"{status}: problem member {member!r} missing or not a {kind.__name__}")
    if document.get("status") != status:
        found.append(f"problem status {document.get('status')!r} differs from the HTTP status {status}")
    return found


def assert_contract_answer(response: httpx.Response) -> None:
    """No 500, no stack trace, errors as problem+json, retryable 5xx with Retry-After."""
    violations = problem_violations(response.status_code, response.headers, response.content)
    assert not violations, f"{response.request.method} {response.request.url.path}: {violations}\n{response.text[:500]}"


def assert_rejected(response: httpx.Response, status: int) -> dict[str, Any]:
    """A 4xx problem answer with exactly ``status``; returns the problem document."""
    assert_contract_answer(response)
    assert response.status_code == status, response.text[:500]
    return response.json()
