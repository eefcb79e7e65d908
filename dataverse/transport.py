"""Sends a :class:`~dataverse.request_builders.Request`: auth, retries, the concurrency limit, timeouts, logs.

Every answer that is not a success becomes a typed :mod:`dataverse.errors` exception here,
so the operations in :mod:`dataverse.client` only deal with successes.
"""

from __future__ import annotations

import asyncio
import copy
import json
import logging
import time
import uuid
from typing import Any

import httpx

from dataverse import headers as h
from dataverse.auth import Auth
from dataverse.concurrency import AdaptiveLimit
from dataverse.errors import DataverseError, Throttled, Timeout, Unavailable, build_error
from dataverse.request_builders import Request
from http_retry import RetryPolicy, parse_retry_after

log = logging.getLogger("dataverse")

TRANSIENT_STATUSES = frozenset({502, 503, 504})
THROTTLED = 429

DEFAULT_RETRY = RetryPolicy(max_attempts=5, max_total_wait=20.0, base_delay=0.5, max_delay=8.0)
"""The budget keeps a throttled or hanging Dataverse from holding an HTTP call open past the
point where its caller gives up: once the time spent so far (attempts and waits) plus the
next wait would overrun ``max_total_wait``, the client stops and raises, carrying
``retry_after`` so the HTTP layer can answer 503/504 + Retry-After."""

DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=5.0)
"""30 s per read: an HTTP-triggered function has about 230 s in all, and a flow makes several calls.
Bulk actions override the read timeout per request (see ``request_builders.BULK_TIMEOUT``)."""


class Transport:
    def __init__(
        self,
        environment_url: str,
        *,
        auth: Auth | None = None,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        retry: RetryPolicy = DEFAULT_RETRY,
        max_concurrency: int = 52,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = environment_url.rstrip("/") + h.API_PATH
        self.auth = auth
        self.timeout = timeout
        self.retry = retry
        self.limit = AdaptiveLimit(max_concurrency)
        self._transport = transport
        self._http: httpx.AsyncClient | None = None
        self._pool_owner: Transport | None = None

    def with_auth(self, auth: Auth | None) -> Transport:
        """The same transport (pool, concurrency limit, retries) whose requests carry ``auth``'s tokens."""
        view = copy.copy(self)
        view.auth = auth
        view._pool_owner = self._pool_owner or self
        return view

    def _client(self) -> httpx.AsyncClient:
        if self._pool_owner is not None:
            return self._pool_owner._client()
        if self._http is None:
            self._http = httpx.AsyncClient(
                base_url=self.base_url,
                timeout=self.timeout,
                transport=self._transport,
                limits=httpx.Limits(max_connections=self.limit.limit, max_keepalive_connections=self.limit.limit),
                follow_redirects=False,
            )
        return self._http

    async def aclose(self) -> None:
        if self._pool_owner is None and self._http is not None:
            await self._http.aclose()
            self._http = None

    async def send(self, request: Request) -> httpx.Response:
        """Send with retries; returns a success (or a status in ``settled_on_retry`` on a retry)."""
        client_request_id = str(uuid.uuid4())
        started = time.monotonic()
        refreshed = False
        attempt = 0
        while True:
            attempt += 1
            try:
                response = await self._attempt(request, client_request_id, attempt, force_refresh=False)
                if response.status_code == 401 and self.auth is not None and not refreshed:
                    refreshed = True
                    response = await self._attempt(request, client_request_id, attempt, force_refresh=True)
            except httpx.TimeoutException as exc:
                failure: DataverseError = Timeout(
                    f"no answer within the timeout ({type(exc).__name__})", client_request_id=client_request_id
                )
                retryable = request.idempotent or isinstance(exc, httpx.ConnectTimeout)
            except httpx.TransportError as exc:
                failure = Unavailable(f"connection failed ({type(exc).__name__})", client_request_id=client_request_id)
                retryable = request.idempotent or isinstance(exc, httpx.ConnectError)
            else:
                status = response.status_code
                if status < 300 or status in request.answered or (attempt > 1 and status in request.settled_on_retry):
                    return response
                failure = error_from(response, client_request_id)
                retryable = status == THROTTLED or (status in TRANSIENT_STATUSES and request.idempotent)
            if not retryable or attempt >= self.retry.max_attempts:
                raise _give_up(failure, self.retry, attempt)
            wait = self.retry.delay(attempt, failure.retry_after)
            if not self.retry.may_wait(time.monotonic() - started, wait):
                raise _give_up(failure, self.retry, attempt, wait)
            log.info(
                "dataverse retry %s %s after %s, waiting %.2fs (attempt %d)",
                request.method, request.entity_set, failure.status or type(failure).__name__, wait, attempt,
            )
            await asyncio.sleep(wait)

    async def _attempt(
        self, request: Request, client_request_id: str, attempt: int, *, force_refresh: bool
    ) -> httpx.Response:
        headers = {**h.BASE, **request.headers, h.CLIENT_REQUEST_ID: client_request_id}
        if self.auth is not None:
            headers[h.AUTHORIZATION] = "Bearer " + await self.auth.token(force_refresh=force_refresh)
        timeout: Any = httpx.USE_CLIENT_DEFAULT
        if request.timeout is not None:
            timeout = httpx.Timeout(request.timeout, connect=self.timeout.connect)
        body: dict[str, Any] = {}
        if request.content is not None:
            body["content"] = request.content
        elif request.json is not None:
            body["content"] = json.dumps(request.json, separators=(",", ":")).encode()
        started = time.perf_counter()
        status: int | str = "error"
        service_request_id = None
        try:
            async with self.limit:
                response = await self._client().request(
                    request.method, request.target, headers=headers, timeout=timeout, **body
                )
                await response.aread()
            status = response.status_code
            service_request_id = response.headers.get(h.SERVICE_REQUEST_ID)
            self.limit.observe(status, response.headers.get(h.DOP_HINT))
            return response
        except httpx.HTTPError as exc:
            status = type(exc).__name__
            raise
        finally:
            log.info(
                "dataverse %s %s -> %s in %.1f ms (attempt %d, client %s, service %s)",
                request.method, request.entity_set, status, (time.perf_counter() - started) * 1000,
                attempt, client_request_id, service_request_id,
            )


def error_from(response: httpx.Response, client_request_id: str | None) -> DataverseError:
    """The typed error for a failed answer; malformed or non-JSON bodies are tolerated."""
    try:
        body = response.json()
    except ValueError:
        body = None
    return build_error(
        response.status_code,
        body,
        retry_after=parse_retry_after(response.headers.get(h.RETRY_AFTER)),
        client_request_id=client_request_id,
        service_request_id=response.headers.get(h.SERVICE_REQUEST_ID) or response.headers.get(h.BATCH_REQUEST_ID),
    )


def _give_up(failure: DataverseError, policy: RetryPolicy, attempt: int, next_wait: float | None = None) -> DataverseError:
    """The error a caller sees once retrying stops: throttling and outages always carry ``retry_after``."""
    if isinstance(failure, (Throttled, Unavailable)) and failure.retry_after is None:
        failure.retry_after = next_wait if next_wait is not None else policy.backoff(attempt)
    return failure
