"""The ASGI application: route, check the key, read the body, invoke, answer, log one line.

Its lifespan starts and stops the queue and timer listeners (devhost/background.py).

The order follows the host: an unknown path is 404 and a known path with another method
405 before any key is looked at; then 401 without a valid key; then 413 for a body over
the cap, which is refused before it is read in full.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import parse_qsl

from devhost.answers import problem
from devhost.background import BackgroundTriggers
from devhost.cors import CorsPolicy
from devhost.functions import HttpFunction
from devhost.invocation import Answer, build_request, failure_frames, invoke
from devhost.keys import KEY_HEADER, KEY_QUERY, HostKeys
from devhost.worker_exit import close_sessions_left_open

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

MAX_BODY_BYTES = 100 * 1024 * 1024  # the Functions host's default request size limit

log = logging.getLogger("devhost")
request_log = logging.getLogger("devhost.requests")


class _BodyTooLarge(Exception):
    pass


class _ClientGone(Exception):
    pass


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key.lower() == name:
            return value.decode("latin-1")
    return None


def _presented_key(scope: Scope) -> str | None:
    header = _header(scope, KEY_HEADER.encode())
    if header is not None:
        return header
    for name, value in parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True):
        if name == KEY_QUERY:
            return value
    return None


def _url(scope: Scope, raw_path: str) -> str:
    host = _header(scope, b"host")
    if not host:
        server_host, server_port = scope.get("server") or ("127.0.0.1", 80)
        host = f"{server_host}:{server_port}"
    query = scope.get("query_string", b"").decode("latin-1")
    return f"{scope.get('scheme', 'http')}://{host}{raw_path}" + (f"?{query}" if query else "")


async def _read_body(receive: Receive, limit: int) -> bytes:
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _ClientGone
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise _BodyTooLarge
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


class HostApp:
    """Serves a list of HTTP functions over ASGI, with keys, CORS and a body cap."""

    def __init__(
        self, functions: Sequence[HttpFunction], keys: HostKeys, *, cors: CorsPolicy | None = None,
        max_body_bytes: int = MAX_BODY_BYTES, threads: int | None = None,
        background: BackgroundTriggers | None = None,
    ):
        self.functions = list(functions)
        self.keys = keys
        self.cors = cors or CorsPolicy()
        self.max_body_bytes = max_body_bytes
        self._executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="devhost-sync")
        self.background = background

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        started = time.perf_counter()
        try:
            answer, label = await self._handle(scope, receive)
        except _ClientGone:
            request_log.info("%s %s client disconnected", scope["method"], scope["path"][:200])
            return
        headers = answer.headers
        if not any(name == "access-control-allow-origin" for name, _ in headers):
            headers = headers + self.cors.headers(_header(scope, b"origin"))
        request_log.info("%s %s %d %.1fms", scope["method"], label, answer.status,
                         (time.perf_counter() - started) * 1000)
        await send({
            "type": "http.response.start",
            "status": answer.status,
            "headers": [(n.encode("latin-1"), v.encode("latin-1")) for n, v in headers],
        })
        await send({"type": "http.response.body", "body": answer.body})

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                if self.background is not None:
                    await self.background.start(self._executor)
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self.background is not None:
                    await self.background.stop()
                await close_sessions_left_open()
                self.close()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _handle(self, scope: Scope, receive: Receive) -> tuple[Answer, str]:
        method = scope["method"].upper()
        raw_path = (scope.get("raw_path") or scope["path"].encode()).decode("latin-1").split("?", 1)[0]
        matches = [(f, values) for f in self.functions if (values := f.route.match(raw_path)) is not None]
        if not matches:
            return problem(404, "Not Found", "No function answers this path."), raw_path[:200]
        allowed = [(f, values) for f, values in matches if f.allows(method)]
        if not allowed:
            if method == "OPTIONS" and _header(scope, b"access-control-request-method"):
                preflight = self.cors.preflight(
                    _header(scope, b"origin"), _header(scope, b"access-control-request-method") or "",
                    _header(scope, b"access-control-request-headers"))
                if preflight is not None:
                    return preflight, f"{matches[0][0].name} (preflight)"
            methods = sorted({m for f, _ in matches for m in (f.methods or ())})
            return (problem(405, "Method Not Allowed", f"This route accepts {', '.join(methods)}.",
                            [("allow", ", ".join(methods))]), matches[0][0].name)
        function, route_params = allowed[0]
        label = f"{function.name} {function.route.template}"
        if not self.keys.accepts(function.auth_level, function.name, _presented_key(scope)):
            detail = ("This route needs the master key." if function.auth_level == "admin" else
                      f"Send a function key in the {KEY_HEADER} header or the {KEY_QUERY} query parameter.")
            return problem(401, "Unauthorized", detail), label
        declared = _header(scope, b"content-length")
        too_large = problem(413, "Payload Too Large", f"The request body is over {self.max_body_bytes} bytes.")
        if declared and declared.isdigit() and int(declared) > self.max_body_bytes:
            return too_large, label
        try:
            body = await _read_body(receive, self.max_body_bytes)
        except _BodyTooLarge:
            return too_large, label
        request = build_request(method, _url(scope, raw_path), scope["headers"], scope.get("query_string", b""),
                                route_params, body)
        try:
            return await invoke(function, request, self._executor), label
        except Exception as exc:  # noqa: BLE001 - the host answers for whatever a function raises
            log.error("function %s raised %s (message withheld: it may hold personal data)%s",
                      function.name, type(exc).__name__, failure_frames(exc))
            return problem(500, "Internal Server Error", f"Function {function.name} failed."), label
