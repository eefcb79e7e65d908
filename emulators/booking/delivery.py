"""Signed webhook delivery (Standard Webhooks) on one background thread, with retries.

Events go out in the order they happened; a failed delivery (non-2xx, connection error or
timeout) is retried after the next back-off delay, or after ``Retry-After`` when the receiver
asks for longer (capped). ``410 Gone`` stops the retries, as the spec asks. The ``webhook-id``
stays the same on every attempt; ``webhook-timestamp`` is the time of the attempt.
"""

from __future__ import annotations

import email.utils
import json
import queue
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx
from standardwebhooks import Webhook

from .state import State
from .timefmt import now


@dataclass(frozen=True)
class Outgoing:
    webhook_id: str
    event_type: str
    appointment_id: str
    body: str
    generation: int


class WebhookSender:
    """Sends queued events to ``url``, signed with ``secret``; both may change at any time."""

    def __init__(
        self,
        state: State,
        *,
        url: str | None,
        secret: str,
        retry_delays: Sequence[float],
        timeout: float,
        max_retry_after: float,
    ) -> None:
        self._state = state
        self._config_lock = threading.Lock()
        self._url = url
        self._signer = Webhook(secret)
        self._secret = secret
        self.retry_delays = tuple(retry_delays)
        self.timeout = timeout
        self.max_retry_after = max_retry_after
        self._queue: queue.Queue[Outgoing | None] = queue.Queue()
        self._idle = threading.Condition()
        self._pending = 0
        self._wake = threading.Event()
        self._stopping = False
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str | None:
        with self._config_lock:
            return self._url

    @url.setter
    def url(self, value: str | None) -> None:
        with self._config_lock:
            self._url = value

    @property
    def secret(self) -> str:
        with self._config_lock:
            return self._secret

    @secret.setter
    def secret(self, value: str) -> None:
        signer = Webhook(value)
        with self._config_lock:
            self._secret, self._signer = value, signer

    def start(self) -> None:
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="booking-sandbox-webhooks", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        self._queue.put(None)
        if self._thread is not None:
            self._thread.join(timeout=self.timeout + 5)
            self._thread = None

    def interrupt(self) -> None:
        """Cut short a back-off sleep (after a reset, whose generation change drops the item)."""
        self._wake.set()

    def submit(self, item: Outgoing) -> None:
        if self.url is None:
            return
        with self._idle:
            self._pending += 1
        self._queue.put(item)

    def wait_idle(self, timeout: float) -> bool:
        """Block until every submitted event is delivered or given up; False on timeout."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout=timeout)

    def _run(self) -> None:
        with httpx.Client(timeout=self.timeout, follow_redirects=False) as client:
            while True:
                item = self._queue.get()
                if item is None:
                    return
                try:
                    self._deliver(client, item)
                finally:
                    with self._idle:
                        self._pending -= 1
                        self._idle.notify_all()

    def _current(self, item: Outgoing) -> bool:
        return not self._stopping and item.generation == self._state.generation

    def _deliver(self, client: httpx.Client, item: Outgoing) -> None:
        waited = 0.0
        for attempt in range(1, len(self.retry_delays) + 2):
            if not self._current(item):
                return
            status, retry_after = self._attempt(client, item, attempt, waited)
            if status is not None and (200 <= status < 300 or status == 410):
                return
            if attempt > len(self.retry_delays):
                return
            waited = self.retry_delays[attempt - 1]
            if retry_after is not None:
                waited = max(waited, min(retry_after, self.max_retry_after))
            self._wake.clear()
            if not self._current(item):
                return
            self._wake.wait(waited)

    def _attempt(self, client: httpx.Client, item: Outgoing, attempt: int, waited: float) -> tuple[int | None, float | None]:
        with self._config_lock:
            url, signer = self._url, self._signer
        record: dict[str, Any] = {
            "webhook_id": item.webhook_id,
            "event": item.event_type,
            "appointment_id": item.appointment_id,
            "attempt": attempt,
            "waited": waited,
            "status": None,
            "error": None,
            "retry_after": None,
            "answer": None,
        }
        if url is None:
            record["error"] = "no webhook URL configured"
            self._record(item, record)
            return None, None
        moment = now()
        headers = {
            "content-type": "application/json",
            "user-agent": "booking-sandbox",
            "webhook-id": item.webhook_id,
            "webhook-timestamp": str(int(moment.timestamp())),
            "webhook-signature": signer.sign(item.webhook_id, moment, item.body),
        }
        try:
            response = client.post(url, content=item.body.encode("utf-8"), headers=headers)
        except httpx.HTTPError as exc:
            record["error"] = type(exc).__name__
            self._record(item, record)
            return None, None
        record["status"] = response.status_code
        record["retry_after"] = _retry_after(response.headers.get("retry-after"))
        record["answer"] = _answer(response)
        self._record(item, record)
        return response.status_code, record["retry_after"]

    def _record(self, item: Outgoing, record: dict[str, Any]) -> None:
        with self._state.lock:
            if item.generation == self._state.generation:
                self._state.deliveries.append(record)


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, (email.utils.parsedate_to_datetime(value) - now()).total_seconds())
    except (TypeError, ValueError):
        return None


def _answer(response: httpx.Response) -> Any:
    try:
        return response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return response.text[:500]
