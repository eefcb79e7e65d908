"""``$batch``: serialise :class:`Request` values as multipart/mixed and read one result per operation.

Content-IDs are the 1-based position of an operation in the whole batch (changeset
operations and plain ones counted alike), so ``"$1"`` in a later changeset operation means
the batch's first operation, and ``results[0]`` is its result.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from dataverse import headers as h
from dataverse.errors import DataverseError, build_error
from dataverse.request_builders import BULK_TIMEOUT, Request
from http_retry import parse_retry_after

MAX_OPERATIONS = 1000
CRLF = "\r\n"
_BOUNDARY = re.compile(r'boundary="?([^";]+)"?', re.IGNORECASE)
_BLANK = re.compile(r"\r?\n\r?\n")
_STATUS_LINE = re.compile(r"^HTTP/\d\.\d\s+(\d{3})")


@dataclass(frozen=True)
class ChangeSet:
    """Operations applied all together or not at all (no GETs allowed)."""

    requests: Sequence[Request]

    def __post_init__(self) -> None:
        if not self.requests:
            raise ValueError("a changeset needs at least one request")
        if any(r.method == "GET" for r in self.requests):
            raise ValueError("GET is not allowed inside a changeset")


@dataclass
class BatchResult:
    """The outcome of one operation; ``status`` is None when it never ran (an earlier part failed)."""

    status: int | None
    headers: dict[str, str] = field(default_factory=dict)
    json: Any = None
    error: DataverseError | None = None

    @property
    def ok(self) -> bool:
        return self.status is not None and self.status < 300

    @property
    def executed(self) -> bool:
        return self.status is not None

    @property
    def entity_id(self) -> str | None:
        match = re.search(r"\(([0-9a-fA-F-]{36})\)\s*$", self._header(h.ODATA_ENTITY_ID) or "")
        return match.group(1).lower() if match else None

    def raise_for_error(self) -> None:
        if self.error is not None:
            raise self.error
        if self.status is None:
            raise DataverseError("the operation was not executed: an earlier part of the batch failed")

    def _header(self, name: str) -> str | None:
        return next((v for k, v in self.headers.items() if k.lower() == name.lower()), None)


def build(items: Sequence[Request | ChangeSet], *, continue_on_error: bool = False) -> tuple[Request, list[int]]:
    """The ``$batch`` request, and the operation count of each item (1 for a plain request)."""
    sizes = [len(item.requests) if isinstance(item, ChangeSet) else 1 for item in items]
    if not items:
        raise ValueError("a batch needs at least one operation")
    if sum(sizes) > MAX_OPERATIONS:
        raise ValueError(f"a batch holds at most {MAX_OPERATIONS} operations")
    boundary = f"batch_{uuid.uuid4()}"
    lines: list[str] = []
    content_id = 0
    for item in items:
        lines.append(f"--{boundary}")
        if isinstance(item, ChangeSet):
            changeset = f"changeset_{uuid.uuid4()}"
            lines += [f"{h.CONTENT_TYPE}: multipart/mixed; boundary={changeset}", ""]
            for request in item.requests:
                content_id += 1
                lines.append(f"--{changeset}")
                lines += _http_part(request, content_id)
            lines.append(f"--{changeset}--")
        else:
            content_id += 1
            lines += _http_part(item, None)
    lines += [f"--{boundary}--", ""]
    operations = [r for item in items for r in (item.requests if isinstance(item, ChangeSet) else [item])]
    request = Request(
        "POST",
        "$batch",
        headers={
            h.CONTENT_TYPE: f"multipart/mixed; boundary={boundary}",
            **h.prefer(h.CONTINUE_ON_ERROR if continue_on_error else ""),
        },
        content=CRLF.join(lines).encode(),
        idempotent=all(r.idempotent for r in operations),
        answered=frozenset({400}),
        # Reads answer as fast as a single GET would; only writes earn the bulk timeout.
        timeout=None if all(r.method == "GET" for r in operations) else BULK_TIMEOUT,
    )
    return request, sizes


def _http_part(request: Request, content_id: int | None) -> list[str]:
    lines = [f"{h.CONTENT_TYPE}: application/http", "Content-Transfer-Encoding: binary"]
    if content_id is not None:
        lines.append(f"{h.CONTENT_ID}: {content_id}")
    lines.append("")
    target = request.target
    if not target.startswith(("$", "http://", "https://")):
        target = h.API_PATH + target
    lines.append(f"{request.method} {target} HTTP/1.1")
    inner_headers = dict(request.headers)
    body = ""
    if request.json is not None:
        inner_headers[h.CONTENT_TYPE] = "application/json; type=entry"
        body = json.dumps(request.json, separators=(",", ":"))
    lines += [f"{name}: {value}" for name, value in inner_headers.items()]
    lines += ["", body]
    return lines


def parse(response: httpx.Response, sizes: Sequence[int]) -> list[BatchResult]:
    """One result per operation, in order; operations after a stop-on-error failure come back unexecuted."""
    content_type = response.headers.get(h.CONTENT_TYPE, "")
    if not content_type.lower().startswith("multipart/"):
        try:
            body = response.json()
        except ValueError:
            body = None
        raise build_error(response.status_code, body, service_request_id=response.headers.get(h.SERVICE_REQUEST_ID))
    units = _parts(response.text, _boundary(content_type))
    results: list[BatchResult] = []
    position = 0
    for size in sizes:
        unit = units[position] if position < len(units) else None
        position += 1
        if unit is None:
            results += [BatchResult(status=None) for _ in range(size)]
        elif isinstance(unit, list):
            by_id = {r[0]: r[1] for r in unit if r[0] is not None}
            first = len(results) + 1
            ordered = [by_id.get(str(first + i)) or (unit[i][1] if i < len(unit) else None) for i in range(size)]
            results += [r if r is not None else BatchResult(status=None) for r in ordered]
        else:
            results += [unit] * size if size > 1 else [unit]
    return results


Unit = BatchResult | list[tuple[str | None, BatchResult]]


def _boundary(content_type: str) -> str:
    match = _BOUNDARY.search(content_type)
    if not match:
        raise DataverseError("a $batch answer without a multipart boundary")
    return match.group(1)


def _split(text: str, boundary: str) -> list[str]:
    """The parts between ``--boundary`` delimiters, before the closing one."""
    body = text.split(f"--{boundary}--", 1)[0]
    pieces = body.split(f"--{boundary}")[1:]
    return [p.removeprefix("\r\n").removeprefix("\n") for p in pieces]


def _head_and_body(text: str) -> tuple[dict[str, str], str]:
    """Header fields up to the first blank line, and what follows (tolerating bare LF)."""
    leading = re.match(r"\r?\n", text)
    if leading:
        return {}, text[leading.end():]
    blank = _BLANK.search(text)
    head, body = (text[: blank.start()], text[blank.end():]) if blank else (text, "")
    fields: dict[str, str] = {}
    for line in re.split(r"\r?\n", head):
        name, sep, value = line.partition(":")
        if sep:
            fields[name.strip()] = value.strip()
    return fields, body


def _parts(text: str, boundary: str) -> list[Unit]:
    units: list[Unit] = []
    for part in _split(text, boundary):
        fields, body = _head_and_body(part)
        part_type = _get(fields, h.CONTENT_TYPE) or ""
        if part_type.lower().startswith("multipart/"):
            inner = []
            for piece in _split(body, _boundary(part_type)):
                inner_fields, inner_body = _head_and_body(piece)
                inner.append((_get(inner_fields, h.CONTENT_ID), _http_response(inner_body)))
            units.append(inner)
        else:
            units.append(_http_response(body))
    return units


def _http_response(text: str) -> BatchResult:
    status_line, _, rest = text.lstrip("\r\n").partition("\n")
    match = _STATUS_LINE.match(status_line.strip())
    if not match:
        return BatchResult(status=None, error=DataverseError("an unreadable part in the $batch answer"))
    status = int(match.group(1))
    fields, body = _head_and_body(rest)
    payload: Any = None
    if body.strip():
        try:
            payload = json.loads(body)
        except ValueError:
            payload = None
    error = None
    if status >= 400:
        error = build_error(
            status,
            payload,
            retry_after=parse_retry_after(_get(fields, h.RETRY_AFTER)),
            service_request_id=_get(fields, h.BATCH_REQUEST_ID) or _get(fields, h.SERVICE_REQUEST_ID),
        )
    return BatchResult(status=status, headers=fields, json=payload, error=error)


def _get(fields: dict[str, str], name: str) -> str | None:
    return next((v for k, v in fields.items() if k.lower() == name.lower()), None)
