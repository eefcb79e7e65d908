"""Raw ASGI front end: latency, faults, request log and the standard response headers."""

from __future__ import annotations

import asyncio
import ipaddress
import re
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import unquote

from emulators.dataverse.hosting.core import EmulatorCore
from emulators.dataverse.hosting.faults import THROTTLE_MESSAGES, Fault
from emulators.dataverse.hosting.request_log import LoggedRequest
from emulators.dataverse.hosting.tokens import KeysUnavailable, TokenRejected
from emulators.dataverse.model.service_errors import ServiceError, no_route
from emulators.dataverse.webapi.messages import ApiRequest, Reply, decode_query
from emulators.dataverse.webapi.paths import API_PREFIX

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
DOP_HINT = "4"
WAIT_STEP = 0.05
# host, IPv4 or [IPv6], optional port: anything else in Host / X-Forwarded-Host is ignored.
HOST_PATTERN = re.compile(r"(?:[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?|\[[0-9A-Fa-f:.]{2,45}\])(?::[0-9]{1,5})?")


def _is_loopback_peer(scope: Scope) -> bool:
    client = scope.get("client")
    if not client:
        return False
    if client[0] in ("127.0.0.1", "::1"):  # the usual peer: skip parsing
        return True
    try:
        return ipaddress.ip_address(client[0]).is_loopback
    except ValueError:
        return False


def _first(value: str | None) -> str | None:
    return value.split(",")[0].strip() if value else None


def service_root(scope: Scope, headers: dict[str, str]) -> str:
    """The Web API root as the client addressed it: scheme and host of the request.

    `X-Forwarded-Proto` / `X-Forwarded-Host` are honoured only from a loopback peer (a local
    TLS front end); malformed values are ignored.
    """
    scheme = scope.get("scheme", "http")
    host = headers.get("host")
    if _is_loopback_peer(scope):
        forwarded_proto = (_first(headers.get("x-forwarded-proto")) or "").lower()
        if forwarded_proto in ("http", "https"):
            scheme = forwarded_proto
        forwarded_host = _first(headers.get("x-forwarded-host"))
        if forwarded_host and HOST_PATTERN.fullmatch(forwarded_host):
            host = forwarded_host
    if not host or not HOST_PATTERN.fullmatch(host):
        server = scope.get("server") or ("127.0.0.1", 80)
        address = f"[{server[0]}]" if ":" in str(server[0]) else str(server[0])
        host = f"{address}:{server[1]}"
    return f"{scheme}://{host}{API_PREFIX}"


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

        caller: str | None = None

        def log(status: int | None) -> None:
            if core.generation == generation:  # a request that began before a reset() is not in the new log
                core.log.add(LoggedRequest(method, path, raw_query, headers, status, body, caller))

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
        claims: dict[str, Any] | None = None
        refusal: Reply | None = None
        if fault is None and core.tokens is not None:
            claims, refusal = self._authenticate(headers)
        if fault is not None:
            reply = _fault_reply(fault)
        elif refusal is not None:
            reply = refusal
        elif path.startswith(API_PREFIX) or path == API_PREFIX.rstrip("/"):
            request = ApiRequest(method, path[len(API_PREFIX) :], query, headers, body, service_root(scope, headers))
            request.claims = claims
            reply = core.api.handle(request)
            caller = request.caller.user_id if request.caller is not None else None
        else:
            reply = Reply.error(no_route(method, path))
        reply.headers.setdefault("OData-Version", "4.0")
        reply.headers["x-ms-service-request-id"] = str(uuid.uuid4())
        reply.headers["x-ms-dop-hint"] = DOP_HINT
        if reply.status >= 400:
            reply.headers["REQ_ID"] = reply.headers["x-ms-service-request-id"]
        log(reply.status)
        await send_reply(send, reply)

    def _authenticate(self, headers: dict[str, str]) -> tuple[dict[str, Any] | None, Reply | None]:
        """The token's claims, or the 401 (or 503 when the keys cannot be read) to answer instead."""
        tokens = self.core.tokens
        assert tokens is not None
        resource = self.core.resource_url
        try:
            return tokens.validate(headers.get("authorization"), (resource, resource + "/")), None
        except TokenRejected as rejected:
            # The challenge Dataverse sends: where to sign in, and the resource to ask a token for.
            challenge = f"Bearer authorization_uri={tokens.authorization_uri}, resource_id={resource}/"
            # 0x8005F101 is Dataverse's AccessTokenExpired code; that a 401 carries it (and a JSON body
            # at all) is UNCONFIRMED (docs/emulator.md#tokens-and-record-level-security).
            error = ServiceError(401, "0x8005F101", str(rejected), {"WWW-Authenticate": challenge})
            return None, Reply.error(error)
        except KeysUnavailable:
            error = ServiceError(503, "0x80040216", "The token signing keys could not be read.", {"Retry-After": "5"})
            return None, Reply.error(error)

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
