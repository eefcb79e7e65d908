"""Async client for the booking API's session endpoint (docs/spec.md#3-the-booking-api-the-app-calls)."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import httpx
from pydantic import ValidationError

from booking_client.errors import (
    BookingInvalidAnswer,
    BookingRejected,
    BookingTimeout,
    BookingUnavailable,
)
from booking_client.models import Session, SessionRequest
from http_retry import RetryPolicy, parse_retry_after

log = logging.getLogger("booking_client")

DEFAULT_TIMEOUT = httpx.Timeout(10.0, connect=3.0)
MAX_ANSWER_BYTES = 64 * 1024
RETRYABLE_STATUSES = frozenset({429, 502, 503, 504})
DEFAULT_RETRY = RetryPolicy(max_attempts=3, max_total_wait=10.0, base_delay=0.2, max_delay=2.0)
"""Retries are safe only because every attempt of one logical request carries the same
``Idempotency-Key``; the total wait is capped so an agent clicking a button is never kept
waiting long."""

# Transport failures after which the request may or may not have reached the API: safe to
# repeat with the same Idempotency-Key. A read timeout is not retried: its budget is spent.
_RETRYABLE_TRANSPORT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.ReadError,
                        httpx.WriteError, httpx.RemoteProtocolError)


class _Retryable(Exception):
    def __init__(self, error: BookingUnavailable) -> None:
        super().__init__(str(error))
        self.error = error


class BookingClient:
    """One pooled connection to the booking API, created on first use (it binds to the running loop)."""

    def __init__(
        self,
        base_url: str,
        api_key: str | None = None,
        *,
        timeout: httpx.Timeout | None = None,
        retry: RetryPolicy = DEFAULT_RETRY,
        event_hooks: dict[str, list[Any]] | None = None,
    ) -> None:
        self._sessions_url = base_url.rstrip("/") + "/sessions"
        self._api_key = api_key
        self._timeout = timeout or DEFAULT_TIMEOUT
        self._retry = retry
        self._event_hooks = event_hooks
        self._http: httpx.AsyncClient | None = None

    def __repr__(self) -> str:
        return f"BookingClient({self._sessions_url!r}, api_key={'***' if self._api_key else None})"

    async def __aenter__(self) -> BookingClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    def _client(self) -> httpx.AsyncClient:
        if self._http is None:
            self._http = httpx.AsyncClient(
                timeout=self._timeout,
                follow_redirects=False,
                event_hooks=self._event_hooks,
                limits=httpx.Limits(max_connections=50, max_keepalive_connections=10),
            )
        return self._http

    async def create_session(self, request: SessionRequest, idempotency_key: str) -> Session:
        """Ask for a booking session, retrying transient failures with the same idempotency key."""
        if not idempotency_key:
            raise ValueError("idempotency_key is required")
        headers = {"Idempotency-Key": idempotency_key, "Accept": "application/json",
                   "Content-Type": "application/json"}
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        body = request.model_dump_json(by_alias=True).encode()

        started = time.monotonic()
        for attempt in range(1, self._retry.max_attempts + 1):
            try:
                return await self._attempt(body, headers)
            except _Retryable as retryable:
                error = retryable.error
            if attempt == self._retry.max_attempts:
                break
            delay = self._retry.delay(attempt, error.retry_after)
            if not self._retry.may_wait(time.monotonic() - started, delay):
                log.warning("booking API unavailable (status %s); retry-after %.1fs exceeds the wait budget",
                            error.status, delay)
                break
            log.warning("booking API unavailable (status %s) on attempt %d; retrying in %.2fs",
                        error.status, attempt, delay)
            await asyncio.sleep(delay)
        raise error

    async def _attempt(self, body: bytes, headers: dict[str, str]) -> Session:
        started = time.perf_counter()
        try:
            async with self._client().stream("POST", self._sessions_url, content=body, headers=headers) as response:
                content = await _read_capped(response)
        except httpx.ConnectTimeout as exc:
            raise _Retryable(BookingTimeout("The booking API could not be reached in time.")) from exc
        except _RETRYABLE_TRANSPORT as exc:
            raise _Retryable(BookingUnavailable(f"The booking API is unreachable ({type(exc).__name__}).")) from exc
        except httpx.TimeoutException as exc:
            raise BookingTimeout("The booking API did not answer in time.") from exc
        except httpx.HTTPError as exc:
            raise BookingUnavailable(f"The booking API could not be reached ({type(exc).__name__}).") from exc
        log.info("booking API answered %d in %.0f ms", response.status_code, (time.perf_counter() - started) * 1000)
        return _session_from(response, content)


async def _read_capped(response: httpx.Response) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > MAX_ANSWER_BYTES:
            raise BookingInvalidAnswer(f"The booking API's answer is larger than {MAX_ANSWER_BYTES} bytes.",
                                       status=response.status_code)
        chunks.append(chunk)
    return b"".join(chunks)


def _session_from(response: httpx.Response, content: bytes) -> Session:
    status = response.status_code
    if status in RETRYABLE_STATUSES:
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        raise _Retryable(BookingUnavailable(f"The booking API answered {status}.", status=status,
                                            retry_after=retry_after))
    if status >= 400:
        raise BookingRejected(f"The booking API answered {status}.", status=status)
    if status not in (200, 201):
        raise BookingInvalidAnswer(f"The booking API answered {status} instead of 200 or 201.", status=status)
    try:
        return Session.model_validate_json(content)
    except ValidationError as exc:
        raise BookingInvalidAnswer(
            f"The booking API's answer is not a session ({_describe(exc)}).", status=status
        ) from None


def _describe(exc: ValidationError) -> str:
    """Where and why validation failed, without echoing the input (it may be anything)."""
    return "; ".join(
        f"{'.'.join(str(part) for part in error['loc']) or 'body'}: {error['type']}" for error in exc.errors()[:3]
    )
