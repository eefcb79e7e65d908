"""Raw ASGI front end: latency, faults, request log and the standard response headers."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import unquote

from emulators.dataverse.core import EmulatorCore
from emulators.dataverse.faults import THROTTLE_MESSAGES, Fault
from emulators.dataverse.messages import ApiRequest, Reply, decode_query
from emulators.dataverse.paths import API_PREFIX
from emulators.dataverse.request_log import LoggedRequest
from emulators.dataverse.service_errors import ServiceError, no_route

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
DOP_HINT = "4"
WAIT_STEP = 0.05


def _headers(scope: Scope) -> dict[str, str]:
    headers: dict[str, str] = {}
    for name, value in scope.get("headers", []):
        key, text = name.decode("latin-1").lower(), value.decode("latin-1")
        headers[key] = f"{headers[key]}, {text}" if key in headers else text
    return headers


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


async def send_reply(send: Send, reply: Reply) -> None:
    headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in reply.headers.items()]
    await send({"type": "http.response.start", "status": reply.status, "headers": headers})
    await send({"type": "http.response.body", "body": reply.body})


def drop_connection(send: Send) -> bool:
    """Close the socket without answering.

    ASGI has no abort; uvicorn's `send` is a bound method of its per-request cycle, whose
    transport we abort, then mark the cycle disconnected so uvicorn does not answer 500.
    """
    cycle = getattr(send, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if transport is None:
        return False
    transport.abort()
    cycle.disconnected = True  # type: ignore[union-attr]
    return True


class EmulatorApp:
    def __init__(self, core: EmulatorCore, admin: Callable[[str, str, list[tuple[str, str]], dict[str, str], bytes], Reply]) -> None:
        self.core = core
        self.admin = admin

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        body = await _read_body(receive)
        path: str = scope["path"]
        method: str = scope["method"]
        headers = _headers(scope)
        query = decode_query(scope.get("query_string", b""))
        if path == "/_emulator" or path.startswith("/_emulator/"):
            await send_reply(send, self.admin(method, path, query, headers, body))
            return
        await self._api(scope, send, method, path, query, headers, body)

    async def _api(
        self,
        scope: Scope,
        send: Send,
        method: str,
        path: str,
        query: list[tuple[str, str]],
        headers: dict[str, str],
        body: bytes,
    ) -> None:
        core = self.core
        generation = core.generation
        latency = core.latency
        if latency:
            await asyncio.sleep(latency)
        fault = core.faults.take(method, path)
        raw_query = unquote(scope.get("query_string", b"").decode("latin-1"))

        def log(status: int | None) -> None:
            if core.generation == generation:  # a request that began before a reset() is not in the new log
                core.log.add(LoggedRequest(method, path, raw_query, headers, status, body))

        if fault is not None and fault.kind == "hang":
            if not await self._wait(fault.seconds, generation):
                fault = Fault("reset")
            else:
                fault = None
        if fault is not None and fault.kind == "reset":
            log(None)
            if drop_connection(send):
                return
            raise ConnectionAbortedError("fault: connection reset")
        if fault is not None:
            reply = _fault_reply(fault)
        elif path.startswith(API_PREFIX) or path == API_PREFIX.rstrip("/"):
            host = headers.get("host") or "{}:{}".format(*scope.get("server", ("127.0.0.1", 80)))
            request = ApiRequest(method, path[len(API_PREFIX) :], query, headers, body, f"http://{host}{API_PREFIX}")
            reply = core.api.handle(request)
        else:
            reply = Reply.error(no_route(method, path))
        reply.headers.setdefault("OData-Version", "4.0")
        reply.headers["x-ms-service-request-id"] = str(uuid.uuid4())
        reply.headers["x-ms-dop-hint"] = DOP_HINT
        if reply.status >= 400:
            reply.headers["REQ_ID"] = reply.headers["x-ms-service-request-id"]
        log(reply.status)
        await send_reply(send, reply)

    async def _wait(self, seconds: float, generation: int) -> bool:
        """Sleep `seconds`; False when a reset or stop interrupts the wait."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while loop.time() < deadline:
            if self.core.generation != generation:
                return False
            await asyncio.sleep(min(WAIT_STEP, deadline - loop.time()))
        return self.core.generation == generation


def _fault_reply(fault: Fault) -> Reply:
    if fault.kind == "throttle":
        error = ServiceError(429, fault.code, THROTTLE_MESSAGES[fault.code])
    else:
        error = ServiceError(fault.status, fault.code, f"Simulated failure: HTTP {fault.status}.")
    reply = Reply.error(error)
    if isinstance(fault.retry_after, str):
        reply.headers["Retry-After"] = fault.retry_after
    elif fault.retry_after is not None:
        reply.headers["Retry-After"] = str(max(0, round(fault.retry_after)))
    return reply
