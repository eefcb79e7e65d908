"""`$batch`: multipart/mixed with CRLF framing, atomic changesets and `$n` references (docs/dataverse-webapi.md#5-batch)."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import TYPE_CHECKING
from urllib.parse import unquote

from emulators.dataverse.model.service_errors import PAYLOAD, ServiceError, no_route
from emulators.dataverse.webapi.messages import ApiRequest, Reply, decode_query
from emulators.dataverse.webapi.paths import API_PREFIX

if TYPE_CHECKING:
    from emulators.dataverse.webapi.api import WebApi

MAX_OPERATIONS = 1000
CRLF = b"\r\n"
_BOUNDARY = re.compile(r'boundary="?([^";]+)"?', re.IGNORECASE)


def not_readable() -> ServiceError:
    return ServiceError(400, PAYLOAD, "Stream was not readable.")


@dataclass
class Operation:
    method: str
    target: str
    headers: dict[str, str]
    body: bytes
    content_id: str | None = None


@dataclass
class ChangeSet:
    operations: list[Operation] = field(default_factory=list)


Part = Operation | ChangeSet


def _boundary(content_type: str | None) -> str:
    if not content_type or not content_type.lower().startswith("multipart/mixed"):
        raise ServiceError(400, PAYLOAD, "A $batch request needs Content-Type: multipart/mixed; boundary=...")
    match = _BOUNDARY.search(content_type)
    if not match:
        raise ServiceError(400, PAYLOAD, "The multipart/mixed Content-Type has no boundary.")
    return match.group(1)


def split_multipart(body: bytes, boundary: str) -> list[bytes]:
    """The bodies between delimiters; any delimiter framed by a bare LF makes the stream unreadable."""
    delimiter = b"--" + boundary.encode("latin-1")
    parts: list[bytes] = []
    start: int | None = None
    position = 0
    closed = False
    while True:
        index = body.find(delimiter, position)
        if index < 0:
            break
        at_line_start = index == 0 or body[index - 2 : index] == CRLF
        if not at_line_start and body[index - 1 : index] == b"\n":
            raise not_readable()
        after = body[index + len(delimiter) : index + len(delimiter) + 2]
        if not at_line_start or after not in (CRLF, b"--"):
            if at_line_start and after[:1] == b"\n":
                raise not_readable()
            position = index + len(delimiter)
            continue
        if start is not None:
            parts.append(body[start : index - 2])
        if after == b"--":
            closed = True
            break
        start = index + len(delimiter) + 2
        position = start
    if not closed:
        raise not_readable()
    return parts


def _headers_and_body(raw: bytes) -> tuple[dict[str, str], bytes]:
    head, sep, rest = raw.partition(CRLF + CRLF)
    if not sep:
        if b"\n\n" in raw or (raw and CRLF not in raw and b"\n" in raw):
            raise not_readable()
        head, rest = raw, b""
    headers: dict[str, str] = {}
    for line in head.split(CRLF):
        if not line.strip():
            continue
        if b"\n" in line:
            raise not_readable()
        name, colon, value = line.decode("latin-1").partition(":")
        if not colon:
            raise ServiceError(400, PAYLOAD, f"The batch part header '{line.decode('latin-1')}' is malformed.")
        headers[name.strip().lower()] = value.strip()
    return headers, rest


def _operation(raw: bytes, content_id: str | None) -> Operation:
    request_line, _, rest = raw.partition(CRLF)
    if b"\n" in request_line:
        raise not_readable()
    words = request_line.decode("latin-1").split()
    if len(words) != 3 or not words[2].startswith("HTTP/"):
        raise ServiceError(400, PAYLOAD, f"The batch request line '{request_line.decode('latin-1')}' is malformed.")
    headers, body = _headers_and_body(rest) if rest else ({}, b"")
    if body.endswith(CRLF):
        body = body[:-2]
    return Operation(words[0].upper(), words[1], headers, body, content_id)


def parse_batch(body: bytes, content_type: str | None) -> list[Part]:
    parts: list[Part] = []
    operations = 0
    seen_ids: set[str] = set()
    for raw in split_multipart(body, _boundary(content_type)):
        headers, content = _headers_and_body(raw)
        part_type = headers.get("content-type", "").lower()
        if part_type.startswith("multipart/mixed"):
            changeset = ChangeSet()
            for inner in split_multipart(content, _boundary(headers["content-type"])):
                inner_headers, inner_content = _headers_and_body(inner)
                content_id = inner_headers.get("content-id")
                if not content_id:
                    raise ServiceError(400, PAYLOAD, "Content-ID header not present in a changeset request.")
                if content_id in seen_ids:
                    raise ServiceError(400, PAYLOAD, f"The Content-ID '{content_id}' is used more than once in the batch.")
                seen_ids.add(content_id)
                operation = _operation(inner_content, content_id)
                if operation.method == "GET":
                    raise ServiceError(400, PAYLOAD, "GET requests are not allowed inside a changeset.")
                changeset.operations.append(operation)
            operations += len(changeset.operations)
            parts.append(changeset)
        elif part_type.startswith("application/http"):
            parts.append(_operation(content, headers.get("content-id")))
            operations += 1
        else:
            raise ServiceError(400, PAYLOAD, f"Unsupported batch part Content-Type '{part_type}'.")
        if operations > MAX_OPERATIONS:
            raise ServiceError(
                400, PAYLOAD, f"The number of requests in the batch exceeds the maximum of {MAX_OPERATIONS}."
            )
    return parts


def _inner_request(batch: ApiRequest, operation: Operation, content_ids: dict[str, str] | None) -> ApiRequest:
    target = operation.target
    if target.startswith("$"):
        reference, slash, suffix = target.partition("/")
        if content_ids is None or reference not in content_ids:
            raise ServiceError(400, PAYLOAD, f"Content-ID Reference: '{reference}' does not exist in the batch context.")
        target = content_ids[reference] + slash + suffix
    else:
        marker = target.find(API_PREFIX)
        if marker >= 0:
            target = target[marker + len(API_PREFIX) :]
        elif target.startswith("/"):
            raise no_route(operation.method, target)
    path, _, query = target.partition("?")
    return ApiRequest(
        operation.method,
        unquote(path),
        decode_query(query.encode("latin-1")),
        operation.headers,
        operation.body,
        batch.base_url,
        content_ids,
        caller=batch.caller,
    )


class _ChangesetFailed(Exception):
    def __init__(self, reply: Reply, operation: Operation) -> None:
        self.reply = reply
        self.operation = operation


def _execute(api: WebApi, batch: ApiRequest, operation: Operation, content_ids: dict[str, str] | None) -> Reply:
    try:
        request = _inner_request(batch, operation, content_ids)
        if request.path == "$batch":
            raise ServiceError(400, PAYLOAD, "A $batch cannot contain another $batch.")
    except ServiceError as error:
        return Reply.error(error)
    return api.handle(request)


def run_batch(api: WebApi, request: ApiRequest) -> Reply:
    if request.method != "POST":
        raise no_route(request.method, request.path)
    parts = parse_batch(request.body, request.header("content-type"))
    continue_on_error = "odata.continue-on-error" in request.prefer()
    rendered: list[bytes] = []
    failed = False
    for part in parts:
        if isinstance(part, Operation):
            with api.store.lock:
                try:
                    with api.store.atomic():
                        reply = _execute(api, request, part, None)
                        if reply.status >= 400:
                            raise _ChangesetFailed(reply, part)
                except _ChangesetFailed:
                    pass
            rendered.append(_http_part(reply, None))
            ok = reply.status < 400
        else:
            ok, body = _run_changeset(api, request, part)
            rendered.append(body)
        if not ok:
            failed = True
            if not continue_on_error:
                break
    boundary = f"batchresponse_{uuid.uuid4()}"
    payload = b"".join(f"--{boundary}\r\n".encode() + chunk for chunk in rendered) + f"--{boundary}--\r\n".encode()
    headers = {"Content-Type": f"multipart/mixed; boundary={boundary}"}
    if continue_on_error:
        headers["Preference-Applied"] = "odata.continue-on-error"
    status = 400 if failed and not continue_on_error else 200
    return Reply(status, headers, payload)


def _run_changeset(api: WebApi, request: ApiRequest, changeset: ChangeSet) -> tuple[bool, bytes]:
    """All operations or none; a failure answers with the failing request's error alone."""
    content_ids: dict[str, str] = {}
    replies: list[tuple[Operation, Reply]] = []
    with api.store.lock:
        try:
            with api.store.atomic():
                for operation in changeset.operations:
                    reply = _execute(api, request, operation, content_ids)
                    if reply.status >= 400:
                        raise _ChangesetFailed(reply, operation)
                    if reply.entity is not None and operation.content_id:
                        content_ids[f"${operation.content_id}"] = reply.entity
                    replies.append((operation, reply))
        except _ChangesetFailed as failure:
            return False, _http_part(failure.reply, failure.operation.content_id)
    boundary = f"changesetresponse_{uuid.uuid4()}"
    inner = b"".join(f"--{boundary}\r\n".encode() + _http_part(r, op.content_id) for op, r in replies)
    head = f"Content-Type: multipart/mixed; boundary={boundary}\r\n\r\n".encode()
    return True, head + inner + f"--{boundary}--\r\n".encode()


def _http_part(reply: Reply, content_id: str | None) -> bytes:
    lines = ["Content-Type: application/http", "Content-Transfer-Encoding: binary"]
    if content_id:
        lines.append(f"Content-ID: {content_id}")
    headers = {"OData-Version": "4.0", **reply.headers}
    if "OData-EntityId" in headers:
        headers["Location"] = headers["OData-EntityId"]
    if reply.status >= 400:
        headers["REQ_ID"] = str(uuid.uuid4())
    status_line = f"HTTP/1.1 {reply.status} {HTTPStatus(reply.status).phrase}"
    inner = [status_line] + [f"{k}: {v}" for k, v in headers.items()]
    text = "\r\n".join(lines) + "\r\n\r\n" + "\r\n".join(inner) + "\r\n\r\n"
    return text.encode("latin-1") + reply.body + (b"\r\n" if reply.body else b"")



