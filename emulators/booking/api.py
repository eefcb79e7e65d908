"""``POST /api/sessions`` (docs/spec.md#3-the-booking-api-the-app-calls), with the planned failures a real booking API can show."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from datetime import timedelta
from typing import Any

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from .models import SessionIn
from .state import Session, State
from .timefmt import iso, now

PROBLEM = "application/problem+json"


def problem(status: int, title: str, detail: str, headers: dict[str, str] | None = None, **extra: Any) -> JSONResponse:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM)


class SessionsApi:
    def __init__(self, state: State, *, api_key: str | None, session_ttl: timedelta, hang_seconds: float) -> None:
        self._state = state
        self.api_key = api_key
        self.session_ttl = session_ttl
        self.hang_seconds = hang_seconds
        self.stopping = False

    async def create(self, request: Request) -> Response:
        failure = self._state.take_failure()
        if failure is not None:
            return await self._fail(*failure)
        if not self._authorized(request.headers.get("authorization", "")):
            return problem(401, "Unauthorized", "A valid Bearer API key is required.", {"WWW-Authenticate": "Bearer"})
        key = request.headers.get("idempotency-key", "").strip()
        if not key or len(key) > 255:
            return problem(400, "Idempotency-Key required", "Send an Idempotency-Key header (1-255 characters).")
        try:
            raw = json.loads(await request.body())
        except (json.JSONDecodeError, UnicodeDecodeError):
            return problem(400, "Body is not JSON", "The request body must be a JSON object.")
        try:
            body = SessionIn.model_validate(raw)
        except ValidationError as exc:
            errors = [{"path": ".".join(str(p) for p in e["loc"]) or "$", "message": e["msg"]} for e in exc.errors()]
            return problem(400, "Invalid session request", "The request body does not match the session schema.", errors=errors)
        fingerprint = hashlib.sha256(json.dumps(raw, sort_keys=True).encode()).hexdigest()
        with self._state.lock:
            seen = self._state.idempotency.get(key)
            if seen is not None:
                if seen[0] != fingerprint:
                    return problem(422, "Idempotency-Key reused", "This Idempotency-Key was used with a different body.")
                return JSONResponse(seen[1], status_code=201)
            answer = self._open(body)
            self._state.idempotency[key] = (fingerprint, answer)
        return JSONResponse(answer, status_code=201)

    def _open(self, body: SessionIn) -> dict[str, Any]:
        session = Session(
            id=self._state.new_session_id(),
            customer=body.customer.model_dump(),
            crm_reference=body.crmReference.model_dump(),
            appointment_id=body.appointmentId,
            reschedules=body.appointmentId is not None,
            expires_at=(now() + self.session_ttl).replace(microsecond=0),
        )
        self._state.sessions[session.id] = session
        return {"sessionId": session.id, "expiresAt": self._state.new_expires_at() or iso(session.expires_at)}

    def _authorized(self, header: str) -> bool:
        if self.api_key is None:
            return True
        return hmac.compare_digest(header.encode(), f"Bearer {self.api_key}".encode())

    async def _fail(self, mode: str, retry_after: str | None) -> Response:
        """The planned failure; ``retry_after`` replaces the throttling answers' ``Retry-After: 1`` verbatim."""
        delay = {"Retry-After": "1" if retry_after is None else retry_after}
        if mode == "error500":
            return Response("Internal Server Error", status_code=500, media_type="text/plain")
        if mode == "reject400":
            return problem(400, "Rejected", "The sandbox was told to reject this request.")
        if mode == "garbage":
            return Response("<html><body>Oops <b>not json", status_code=200, media_type="text/html")
        if mode == "throttle":
            return problem(429, "Too many requests", "Slow down.", delay)
        if mode == "unavailable503":
            return problem(503, "Service unavailable", "Try again shortly.", delay)
        await self._hang()
        return problem(503, "Service unavailable", "The sandbox stopped hanging.")

    async def _hang(self) -> None:
        """Wait out any client timeout, but end at once on stop() or reset()."""
        generation = self._state.generation
        deadline = time.monotonic() + self.hang_seconds
        while time.monotonic() < deadline and not self.stopping and self._state.generation == generation:  # noqa: ASYNC110 (stop, reset and the deadline are set from other threads)
            await asyncio.sleep(0.05)
