"""What a request costs a real Dataverse organization, and the service protection limits around it.

Off by default. When on, it wraps the emulator's ASGI app: every Web API request is held
for its modelled server time (minus the time the emulator really spent), counted against
its user's 5-minute sliding window (requests, combined execution time, concurrency) and
refused with the documented 429 when a limit is passed. Figures, sources and the floor
formula are in docs/cost-model.md.

A time-compression factor ``c`` divides every duration (costs, the window, Retry-After)
by ``c``: a test at ``c = 100`` sees in 3 s what the service does in 300 s, with the same
ratios. Request and concurrency counts are not durations and stay as documented.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import math
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

API_PREFIX = "/api/"
CONTROL_PATH = "/_emulator/cost-model"
ANONYMOUS = "anonymous"
REQUESTS_CODE = "0x80072322"
EXECUTION_CODE = "0x80072321"
CONCURRENCY_CODE = "0x80072326"
BULK_ACTIONS = ("CreateMultiple", "UpdateMultiple", "UpsertMultiple")


@dataclass(frozen=True)
class CostProfile:
    """Server seconds per request and per row, and the service protection limits (model seconds).

    The ``standard`` values are the typical column of the public measurements summarised in
    docs/cost-model.md (Microsoft's bulk-operation samples and community benchmarks).
    """

    name: str = "standard"
    read: float = 0.100  # a GET: one row by key, or one page of a query
    read_per_row: float = 0.000125  # ~8,000 narrow rows/s
    create: float = 0.100  # one POST
    update: float = 0.120  # one PATCH / PUT
    delete: float = 0.100  # one DELETE
    bulk: float = 0.200  # CreateMultiple / UpdateMultiple / UpsertMultiple, per request
    bulk_create_per_row: float = 0.010
    bulk_update_per_row: float = 0.025  # UpdateMultiple and UpsertMultiple
    batch: float = 0.100  # a $batch, per request
    batch_per_part: float = 0.030  # each write or read inside a $batch
    batch_delete_per_part: float = 0.050  # each DELETE inside a $batch
    dop_hint: int = 5
    window_seconds: float = 300.0
    max_requests: int = 6000
    max_execution_seconds: float = 1200.0
    max_concurrent: int = 52

    def __post_init__(self) -> None:
        if not 1 <= self.dop_hint <= 1000:
            raise ValueError("dop_hint must be between 1 and 1000")
        if self.max_concurrent < 1 or self.max_requests < 1 or self.max_execution_seconds <= 0:
            raise ValueError("limits must be positive")
        if self.window_seconds <= 0 or any(
            v < 0 for v in (self.read, self.read_per_row, self.create, self.update, self.delete, self.bulk,
                            self.bulk_create_per_row, self.bulk_update_per_row, self.batch, self.batch_per_part,
                            self.batch_delete_per_part)
        ):
            raise ValueError("durations must be >= 0 and the window > 0")


PROFILES = {"standard": CostProfile()}


@dataclass
class Work:
    """What one request did, in rows, and what it costs under a profile."""

    kind: str  # read | create | update | delete | bulk_create | bulk_update | batch
    created: int = 0
    updated: int = 0
    deleted: int = 0
    read: int = 0
    other_parts: int = 0  # $batch parts that are neither writes nor counted reads

    def seconds(self, p: CostProfile, succeeded: bool) -> float:
        base = {"read": p.read, "create": p.create, "update": p.update, "delete": p.delete,
                "bulk_create": p.bulk, "bulk_update": p.bulk, "batch": p.batch}[self.kind]
        if not succeeded:
            return base
        if self.kind == "read":
            return base + self.read * p.read_per_row
        if self.kind == "bulk_create":
            return base + self.created * p.bulk_create_per_row
        if self.kind == "bulk_update":
            return base + self.updated * p.bulk_update_per_row
        if self.kind == "batch":
            return (base + self.deleted * p.batch_delete_per_part
                    + (self.created + self.updated + self.other_parts) * p.batch_per_part)
        return base


def classify(method: str, path: str, body: bytes) -> Work:
    """The kind of request, and the rows it writes (rows read are counted from the answer)."""
    if path.endswith("/$batch"):
        parts = {m: 0 for m in ("POST", "PATCH", "PUT", "DELETE", "GET")}
        for line in body.split(b"\n"):
            word = line.split(b" ", 1)[0].decode("latin-1", "replace").strip()
            if word in parts and b" HTTP/" in line:
                parts[word] += 1
        return Work("batch", created=parts["POST"], updated=parts["PATCH"] + parts["PUT"], deleted=parts["DELETE"],
                    other_parts=parts["GET"])
    action = path.rsplit(".", 1)[-1] if "Microsoft.Dynamics.CRM." in path else ""
    if method == "POST" and action in BULK_ACTIONS:
        targets = body.count(b'"@odata.type"')  # every target must carry it
        if action == "CreateMultiple":
            return Work("bulk_create", created=targets)
        return Work("bulk_update", updated=targets)
    if method == "GET":
        return Work("read")
    if method == "POST":
        return Work("create", created=1)
    if method in ("PATCH", "PUT"):
        return Work("update", updated=1)
    if method == "DELETE":
        return Work("delete", deleted=1)
    return Work("read")


@dataclass
class Ledger:
    """Totals since the model was (re)configured, in model seconds."""

    requests: int = 0
    throttled: dict[str, int] = field(default_factory=lambda: {REQUESTS_CODE: 0, EXECUTION_CODE: 0, CONCURRENCY_CODE: 0})
    execution_seconds: float = 0.0
    created: int = 0
    updated: int = 0
    deleted: int = 0
    read: int = 0
    max_in_flight: int = 0
    overrun_seconds: float = 0.0
    """Model seconds the emulator itself took beyond the modelled time (its CPU, not the model's)."""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Throttle:
    code: str
    message: str
    retry_after: float  # model seconds


@dataclass
class _UserWindow:
    in_flight: int = 0
    admitted: deque[float] = field(default_factory=deque)  # real times of admitted requests
    executed: deque[tuple[float, float]] = field(default_factory=deque)  # (real end time, model seconds)
    execution: float = 0.0  # sum of ``executed`` seconds
    refused: deque[float] = field(default_factory=deque)  # real times of 429 answers


def messages(p: CostProfile) -> dict[str, str]:
    """The documented messages (the defaults produce Microsoft's text word for word)."""
    window = f"{p.window_seconds:g}"
    return {
        REQUESTS_CODE: f"Number of requests exceeded the limit of {p.max_requests} over time window of {window} seconds.",
        EXECUTION_CODE: (
            f"Combined execution time of incoming requests exceeded limit of {round(p.max_execution_seconds * 1000):,} "
            f"milliseconds over time window of {window} seconds. Decrease number of concurrent requests or reduce "
            "the duration of requests and try again later."
        ),
        CONCURRENCY_CODE: f"Number of concurrent requests exceeded the limit of {p.max_concurrent}.",
    }


class CostModel:
    """The profile, the per-user windows and the ledger. Thread-safe; ``clock`` returns real seconds."""

    def __init__(
        self, profile: CostProfile | str = "standard", *, time_compression: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if isinstance(profile, str):
            if profile not in PROFILES:
                raise ValueError(f"unknown cost profile {profile!r}; known: {sorted(PROFILES)}")
            profile = PROFILES[profile]
        if not 0 < time_compression <= 10_000:
            raise ValueError("time_compression must be in (0, 10000]")
        self.profile = profile
        self.time_compression = float(time_compression)
        self.clock = clock
        self.ledger = Ledger()
        self._users: dict[str, _UserWindow] = {}
        self._lock = threading.Lock()
        self._messages = messages(profile)

    def real(self, model_seconds: float) -> float:
        return model_seconds / self.time_compression

    def _expire(self, user: _UserWindow, now: float) -> None:
        horizon = now - self.real(self.profile.window_seconds)
        while user.admitted and user.admitted[0] <= horizon:
            user.admitted.popleft()
        while user.executed and user.executed[0][0] <= horizon:
            user.execution -= user.executed.popleft()[1]
        while user.refused and user.refused[0] <= horizon:
            user.refused.popleft()

    def admit(self, user_id: str) -> Throttle | int:
        """Count the request in, or say why not. Returns the in-flight count including this one."""
        p = self.profile
        with self._lock:
            now = self.clock()
            user = self._users.setdefault(user_id, _UserWindow())
            self._expire(user, now)
            code, wait = None, 0.0
            if user.in_flight >= p.max_concurrent:
                code, wait = CONCURRENCY_CODE, 1.0
            elif len(user.admitted) >= p.max_requests:
                code = REQUESTS_CODE
                wait = (user.admitted[0] - now) * self.time_compression + p.window_seconds
            elif user.execution >= p.max_execution_seconds:
                code = EXECUTION_CODE
                wait = self._execution_wait(user, now)
            if code is not None:
                # Continued pressure lengthens the wait: one model second more per 429 this user
                # got within the window, never beyond two windows.
                retry = min(max(wait, 1.0) + len(user.refused), 2 * p.window_seconds)
                user.refused.append(now)
                self.ledger.throttled[code] += 1
                return Throttle(code, self._messages[code], retry)
            user.in_flight += 1
            user.admitted.append(now)
            self.ledger.requests += 1
            self.ledger.max_in_flight = max(self.ledger.max_in_flight, user.in_flight)
            return user.in_flight

    def _execution_wait(self, user: _UserWindow, now: float) -> float:
        """Model seconds until enough execution leaves the window to go under the limit."""
        excess = user.execution - self.profile.max_execution_seconds
        for end, seconds in user.executed:
            excess -= seconds
            if excess < 0:
                return (end - now) * self.time_compression + self.profile.window_seconds
        return self.profile.window_seconds

    def cost(self, work: Work, succeeded: bool, in_flight: int) -> float:
        """Model seconds; above the dop hint the server is contended and each request takes longer."""
        return work.seconds(self.profile, succeeded) * max(1.0, in_flight / self.profile.dop_hint)

    def finish(self, user_id: str, work: Work, seconds: float, succeeded: bool, overrun: float = 0.0) -> None:
        with self._lock:
            now = self.clock()
            user = self._users[user_id]
            user.in_flight -= 1
            user.executed.append((now, seconds))
            user.execution += seconds
            ledger = self.ledger
            ledger.execution_seconds += seconds
            ledger.overrun_seconds += overrun * self.time_compression
            if succeeded:
                ledger.created += work.created
                ledger.updated += work.updated
                ledger.deleted += work.deleted
                ledger.read += work.read

    def retry_after_header(self, model_seconds: float) -> str:
        """Integer seconds as documented; under compression, the compressed value with decimals."""
        if self.time_compression == 1:
            return str(math.ceil(model_seconds))
        return f"{self.real(model_seconds):.3f}"

    def describe(self) -> dict[str, Any]:
        return {"enabled": True, "profile": asdict(self.profile), "time_compression": self.time_compression,
                "ledger": self.ledger.as_dict()}


def floor_seconds(ledger: Ledger, profile: CostProfile, servers: int = 1) -> dict[str, float]:
    """The least wall time (model seconds) any client could reach moving the ledger's rows.

    Every row costs at least its cheapest per-row price (bulk actions; deletes in a batch);
    at most D = min(dop hint, concurrency limit) requests run at once without contention, and
    each of the D lanes pays at least one request base. Then the documented budgets: execution
    time replenishes at limit/window per second after a first burst of ``limit``, and so do
    requests. The largest term binds; see docs/cost-model.md.
    """
    p = profile
    lanes = min(p.dop_hint, p.max_concurrent) * servers
    rows = (ledger.created * p.bulk_create_per_row + ledger.updated * p.bulk_update_per_row
            + ledger.deleted * p.batch_delete_per_part + ledger.read * p.read_per_row)
    execution = rows + lanes * min(p.bulk, p.read)
    rate = p.max_execution_seconds / p.window_seconds
    concurrency_term = execution / lanes
    execution_term = max(0.0, (execution - p.max_execution_seconds * servers) / (rate * servers))
    request_term = max(0.0, (lanes - p.max_requests * servers) / (p.max_requests / p.window_seconds * servers))
    return {"floor": max(concurrency_term, execution_term, request_term), "concurrency_term": concurrency_term,
            "execution_term": execution_term, "request_term": request_term, "execution": execution, "lanes": lanes}


def user_of(headers: dict[str, str]) -> str:
    """The bearer token's subject (``sub``, else ``oid``), or one anonymous user without a token.

    The token is not verified (the emulator does not check identity); an opaque token is its
    own user, named by a hash so that no token text is kept.
    """
    value = headers.get("authorization", "")
    if not value.lower().startswith("bearer "):
        return ANONYMOUS
    token = value[7:].strip()
    parts = token.split(".")
    if len(parts) == 3:
        try:
            padded = parts[1] + "=" * (-len(parts[1]) % 4)
            claims = json.loads(base64.urlsafe_b64decode(padded))
            subject = claims.get("sub") or claims.get("oid") if isinstance(claims, dict) else None
            if isinstance(subject, str) and subject:
                return "sub:" + subject[:200]
        except ValueError:
            pass
    return "token:" + hashlib.sha256(token.encode()).hexdigest()[:16]


class CostControl:
    """Holds the current model (None = off); switched by constructor args or the admin control."""

    def __init__(self, model: CostModel | None = None) -> None:
        self.model = model

    @classmethod
    def create(cls, profile: CostModel | CostProfile | str | None, time_compression: float = 1.0,
               dop_hint: int | None = None) -> CostControl:
        if profile is None or isinstance(profile, CostModel):
            return cls(profile)
        return cls(_model(profile, time_compression, dop_hint))

    def control(self, method: str, body: bytes) -> tuple[int, dict[str, Any]]:
        """GET: the model and its ledger. PUT {"profile", "time_compression", "dop_hint"}: (re)start it
        with empty windows and ledger; "profile": "off" or DELETE turns it off."""
        if method == "PUT":
            try:
                data = json.loads(body or b"{}")
                if not isinstance(data, dict) or set(data) - {"profile", "time_compression", "dop_hint"}:
                    raise ValueError("expected {profile, time_compression, dop_hint}")
                name = data.get("profile", "standard")
                if name == "off":
                    self.model = None
                else:
                    self.model = _model(name, float(data.get("time_compression", 1.0)), data.get("dop_hint"))
            except (ValueError, TypeError) as error:
                return 400, {"error": str(error)}
        elif method == "DELETE":
            self.model = None
        elif method != "GET":
            return 405, {"error": "use GET, PUT or DELETE"}
        model = self.model
        return 200, model.describe() if model is not None else {"enabled": False}


def _model(profile: CostProfile | str, time_compression: float, dop_hint: Any) -> CostModel:
    if isinstance(profile, str):
        if profile not in PROFILES:
            raise ValueError(f"unknown cost profile {profile!r}; known: {sorted(PROFILES)}")
        profile = PROFILES[profile]
    if dop_hint is not None:
        if not isinstance(dop_hint, int) or isinstance(dop_hint, bool):
            raise ValueError("dop_hint must be an integer")
        profile = replace(profile, dop_hint=dop_hint)
    return CostModel(profile, time_compression=time_compression)


class CostModelMiddleware:
    """ASGI: the cost model around the emulator app, and its control at /_emulator/cost-model."""

    def __init__(self, app: ASGIApp, costs: CostControl) -> None:
        self.app = app
        self.costs = costs

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if path == CONTROL_PATH:
            body = await _read_body(receive)
            status, data = self.costs.control(scope["method"], body)
            await _send(send, status, {"content-type": "application/json"}, json.dumps(data).encode())
            return
        model = self.costs.model
        if model is None or not path.startswith(API_PREFIX):
            await self.app(scope, receive, send)
            return
        await self._costed(model, scope, receive, send)

    async def _costed(self, model: CostModel, scope: Scope, receive: Receive, send: Send) -> None:
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        user = user_of(headers)
        body = await _read_body(receive)
        work = classify(scope["method"], scope["path"], body)
        admitted = model.admit(user)
        if isinstance(admitted, Throttle):
            payload = json.dumps({"error": {"code": admitted.code, "message": admitted.message}}).encode()
            await _send(send, 429, {
                "content-type": "application/json; odata.metadata=minimal", "odata-version": "4.0",
                "retry-after": model.retry_after_header(admitted.retry_after),
                "x-ms-dop-hint": str(model.profile.dop_hint),
            }, payload)
            return
        started = time.monotonic()
        answer = _Captured(send)
        succeeded = False
        seconds = remaining = 0.0
        try:
            await self.app(scope, _replay(body), answer.send)
            succeeded = answer.status is not None and answer.status < 400
            if work.kind == "read" and succeeded:
                work.read = answer.body().count(b'"@odata.etag"') or 1
            seconds = model.cost(work, succeeded, admitted)
            remaining = model.real(seconds) - (time.monotonic() - started)
            if remaining > 0:
                await asyncio.sleep(remaining)
        finally:
            model.finish(user, work, seconds, succeeded, overrun=max(0.0, -remaining))
        await answer.forward(str(model.profile.dop_hint))


class _Captured:
    """Holds the inner app's answer until the modelled time has passed.

    ``transport`` and ``disconnected`` mirror the server's request cycle, so the emulator's
    dropped-connection fault still reaches the socket through this wrapper.
    """

    def __init__(self, send: Send) -> None:
        self._send = send
        self.start: Message | None = None
        self.chunks: list[bytes] = []
        cycle = getattr(send, "__self__", None)
        self.transport = getattr(cycle, "transport", None)
        self._cycle = cycle

    @property
    def disconnected(self) -> bool:
        return bool(getattr(self._cycle, "disconnected", False))

    @disconnected.setter
    def disconnected(self, value: bool) -> None:
        if self._cycle is not None:
            self._cycle.disconnected = value

    @property
    def status(self) -> int | None:
        return None if self.start is None else int(self.start["status"])

    def body(self) -> bytes:
        return b"".join(self.chunks)

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.start = message
        elif message["type"] == "http.response.body":
            self.chunks.append(message.get("body", b""))

    async def forward(self, dop_hint: str) -> None:
        if self.start is None:
            return
        headers = [(k, v) for k, v in self.start.get("headers", []) if k.lower() != b"x-ms-dop-hint"]
        headers.append((b"x-ms-dop-hint", dop_hint.encode()))
        await self._send({**self.start, "headers": headers})
        await self._send({"type": "http.response.body", "body": self.body()})


async def _read_body(receive: Receive) -> bytes:
    body = bytearray()
    more = True
    while more:
        message = await receive()
        if message["type"] != "http.request":  # the client went away
            break
        body += message.get("body", b"")
        more = bool(message.get("more_body", False))
    return bytes(body)


def _replay(body: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


async def _send(send: Send, status: int, headers: dict[str, str], body: bytes) -> None:
    raw = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
    raw.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})
