"""The host's own answers (no function ran): RFC 9457 problem documents."""

from __future__ import annotations

import json

from devhost.invocation import Answer

PROBLEM_JSON = "application/problem+json"


def problem(status: int, title: str, detail: str, headers: list[tuple[str, str]] | None = None) -> Answer:
    body = json.dumps({"type": "about:blank", "title": title, "status": status, "detail": detail}).encode()
    return Answer(
        status,
        [("content-type", PROBLEM_JSON), ("content-length", str(len(body))), *(headers or [])],
        body,
    )
